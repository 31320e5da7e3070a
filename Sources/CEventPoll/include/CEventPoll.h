// epoll for Swift: the Glibc module does not export <sys/epoll.h>. No logic here.
#ifndef C_EVENT_POLL_H
#define C_EVENT_POLL_H
#include <sys/epoll.h>
#endif

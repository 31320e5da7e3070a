// glibc's allocator controls for Swift: the Glibc module does not export <malloc.h>. No logic here.
#ifndef C_ALLOCATOR_H
#define C_ALLOCATOR_H
#include <malloc.h>
#endif

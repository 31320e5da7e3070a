#ifdef __linux__
#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include "CNetlink.h"

int cnetlink_setns(int fd, int nstype) { return setns(fd, nstype); }
int cnetlink_unshare(int flags) { return unshare(flags); }
pid_t cnetlink_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int cnetlink_mount_bind(const char *source, const char *target) {
    return mount(source, target, "none", MS_BIND, NULL);
}
int cnetlink_mount_make_shared(const char *target) {
    return mount("", target, "none", MS_SHARED | MS_REC, NULL);
}
int cnetlink_umount_detach(const char *target) { return umount2(target, MNT_DETACH); }
#endif

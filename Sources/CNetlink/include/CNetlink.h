// C shim for the Netlink modules: the syscalls Glibc's Swift module does not export
// (setns, unshare need _GNU_SOURCE) and kernel header constants used in tests to check
// NetlinkWire's Swift constants. No logic lives here.
#pragma once

#ifdef __linux__
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/veth.h>

int cnetlink_setns(int fd, int nstype);
int cnetlink_unshare(int flags);
pid_t cnetlink_gettid(void);
int cnetlink_mount_bind(const char *source, const char *target);
int cnetlink_mount_make_shared(const char *target);
int cnetlink_umount_detach(const char *target);

static const int CNETLINK_CLONE_NEWNET = 0x40000000;
#endif

/* The record the attribution BPF program hands to userspace through its ring buffer.
 *
 * Shared by attribution.bpf.c (compiled with clang -target bpf against vmlinux.h) and the
 * C++ reader, so it uses only fixed-width kernel types and plain C.
 *
 * Glossary:
 *  - kind: where the packet was seen. DROP = skb:kfree_skb with reason NETFILTER_DROP (a
 *    blocked packet, in the same call chain as its NFLOG message); XMIT = net:net_dev_queue
 *    of a packet whose conntrack state is NEW (an accepted first packet: audit or permit).
 *  - trusted: the packet was produced synchronously by the task that is `current`
 *    (process context, a user socket, not a kernel thread, TCP socket owned by the caller).
 *    Only then are the task fields filled in; otherwise the record says "kernel context"
 *    so userspace can resolve the NFLOG message as unknown at once.
 */
#ifndef ZTDNS_OBSERVE_BPF_ATTRIBUTION_RECORD_H
#define ZTDNS_OBSERVE_BPF_ATTRIBUTION_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ZTDNS_ATTR_PKT_BYTES 128  /* network header onwards */
#define ZTDNS_ATTR_NAME_BYTES 256 /* executable path components, leaf first */
#define ZTDNS_ATTR_COMM_BYTES 16

enum ztdns_attr_kind {
  ZTDNS_ATTR_KIND_DROP = 1,
  ZTDNS_ATTR_KIND_XMIT = 2,
};

enum ztdns_attr_flags {
  ZTDNS_ATTR_F_TRUSTED = 1 << 0,   /* task fields describe the sender */
  ZTDNS_ATTR_F_SOFTIRQ = 1 << 1,   /* serving a softirq: current is unrelated */
  ZTDNS_ATTR_F_KTHREAD = 1 << 2,   /* current is a kernel thread */
  ZTDNS_ATTR_F_KERN_SOCK = 1 << 3, /* no socket, or a kernel socket (ICMP error, NDP) */
  ZTDNS_ATTR_F_NOT_OWNER = 1 << 4, /* TCP socket not locked by current: a timer path */
  ZTDNS_ATTR_F_EXE = 1 << 5,       /* names holds the executable's path components */
  ZTDNS_ATTR_F_EXE_TOO_LONG = 1 << 6,
  ZTDNS_ATTR_F_PIDNS = 1 << 7, /* tgid/tid are in the reader's pid namespace */
};

/* Counters in the per-CPU array map "stats" (index = enum value). */
enum ztdns_attr_stat {
  ZTDNS_ATTR_STAT_RECORDS = 0,
  ZTDNS_ATTR_STAT_RINGBUF_FULL = 1,
  ZTDNS_ATTR_STAT_COUNT = 2,
};

struct ztdns_attr_record {
  __u64 ktime_ns;          /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
  __u64 start_boottime_ns; /* the process (group leader) start, CLOCK_BOOTTIME */
  __u64 cgroup_id;         /* cgroup v2 id (inode of the cgroup directory) */
  __u64 exe_ino;           /* inode of mm->exe_file */
  __u32 exe_dev;           /* its superblock's kernel dev_t (major << 20 | minor) */
  __u32 kind;
  __u32 flags;
  __u32 tgid; /* process id as the reader sees it (see F_PIDNS) */
  __u32 tid;
  __u32 host_tgid; /* process id in the initial pid namespace */
  __u32 uid;
  __u32 gid;
  __u32 pkt_len;    /* valid bytes in pkt */
  __u32 names_len;  /* bytes used in names */
  __u32 name_count; /* components in names */
  __u32 reserved;
  char comm[ZTDNS_ATTR_COMM_BYTES];
  __u8 pkt[ZTDNS_ATTR_PKT_BYTES];
  char names[ZTDNS_ATTR_NAME_BYTES]; /* "curl\0bin\0usr\0" for /usr/bin/curl */
};

#endif

// SPDX-License-Identifier: GPL-2.0
/* Process attribution for NFLOG'd packets, from two BTF tracepoints.
 *
 * Why tracepoints: fentry/fexit, BPF LSM and kprobes are unavailable on the target kernels
 * we measured (trampoline programs fail to load with EPERM, CONFIG_KPROBES=n), while
 * tp_btf programs load everywhere BTF exists. Two tracepoints sit in the same call chain
 * as the nftables `log group` of a first packet, in the sender's context:
 *  - skb:kfree_skb with reason NETFILTER_DROP: the packet that a `reject`/`drop` rule just
 *    logged and dropped (blocked). Same skb, same bytes as the NFLOG copy.
 *  - net:net_dev_queue of a conntrack-NEW packet: an accepted first packet (audit,
 *    permit) leaving a device of our network namespace.
 * Each emits the first ZTDNS_ATTR_PKT_BYTES of the packet, so userspace joins NFLOG
 * messages to records by packet content, plus the sending task, but only when `current`
 * really is the sender (see ZTDNS_ATTR_F_TRUSTED). softirq_entry/exit keep a per-CPU
 * "serving softirq" flag because the kernel's preempt count is not reachable from BPF here.
 */
// vmlinux.h must come before the libbpf headers.
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "attribution_record.h"
// clang-format on

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile __u32 netns_ino = 0; /* the daemon's network namespace (nsfs inode) */
const volatile __u64 pidns_dev = 0; /* the daemon's pid namespace, for pid translation */
const volatile __u64 pidns_ino = 0;

#define PF_KTHREAD_FLAG 0x00200000
#define ETH_P_IP_BE 0x0008   /* htons(0x0800) */
#define ETH_P_IPV6_BE 0xDD86 /* htons(0x86DD) */
#define IPPROTO_TCP_NUM 6
#define SOCK_STREAM_NUM 1

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 22); /* 4 MiB: ~7000 records of slack at 10k/s bursts */
} records SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, ZTDNS_ATTR_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} in_softirq SEC(".maps");

struct name_scratch {
  char buf[2 * ZTDNS_ATTR_NAME_BYTES];
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct name_scratch);
} scratch SEC(".maps");

/* Executable paths already walked, by the exe file object and its inode: a flood from one
 * process walks once. A reused file object with another inode misses; userspace checks
 * every path against the inode anyway. */
struct exe_key {
  __u64 file;
  __u64 ino;
  __u32 dev;
  __u32 pad;
};

struct exe_names {
  __u32 len;
  __u32 count;
  char names[ZTDNS_ATTR_NAME_BYTES];
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 4096);
  __type(key, struct exe_key);
  __type(value, struct exe_names);
} exe_cache SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64* v = bpf_map_lookup_elem(&stats, &which);
  if (v) *v += 1;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(ztdns_softirq_entry, unsigned int vec) {
  __u32 zero = 0;
  __u32* f = bpf_map_lookup_elem(&in_softirq, &zero);
  if (f) *f = 1;
  return 0;
}

SEC("tp_btf/softirq_exit")
int BPF_PROG(ztdns_softirq_exit, unsigned int vec) {
  __u32 zero = 0;
  __u32* f = bpf_map_lookup_elem(&in_softirq, &zero);
  if (f) *f = 0;
  return 0;
}

/* One step of the executable path walk (bpf_loop callback): a d_path() by hand, since
 * bpf_d_path is not allowed from tracepoints. Crosses mount points upwards. */
struct walk_ctx {
  struct dentry* dentry;
  struct mount* mnt;
  struct name_scratch* out;
  __u32 off;
  __u32 count;
  int too_long;
};

static long walk_step(__u64 index, void* arg) {
  struct walk_ctx* c = arg;
  struct dentry* dentry = c->dentry;
  struct mount* mnt = c->mnt;
  struct name_scratch* out = c->out;
  if (!out) return 1;
  struct dentry* mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
  struct dentry* parent = BPF_CORE_READ(dentry, d_parent);
  if (dentry == mnt_root || dentry == parent) {
    struct mount* up = BPF_CORE_READ(mnt, mnt_parent);
    if (up == mnt) return 1; /* the root of the mount tree */
    c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
    c->mnt = up;
    return 0;
  }
  const unsigned char* name = BPF_CORE_READ(dentry, d_name.name);
  long n = bpf_probe_read_kernel_str(&out->buf[c->off & (ZTDNS_ATTR_NAME_BYTES - 1)],
                                     ZTDNS_ATTR_NAME_BYTES, name);
  if (n <= 0) {
    c->too_long = 1;
    return 1;
  }
  c->off += n;
  c->count++;
  if (c->off >= ZTDNS_ATTR_NAME_BYTES) {
    c->too_long = 1;
    return 1;
  }
  c->dentry = parent;
  return 0;
}

static __always_inline void fill_exe(struct ztdns_attr_record* r, struct task_struct* task) {
  struct file* exe = BPF_CORE_READ(task, mm, exe_file);
  if (!exe) return;
  r->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
  r->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
  struct exe_key key = {.file = (__u64)exe, .ino = r->exe_ino, .dev = r->exe_dev};
  struct exe_names* cached = bpf_map_lookup_elem(&exe_cache, &key);
  if (cached) {
    r->names_len = cached->len;
    r->name_count = cached->count;
    __builtin_memcpy(r->names, cached->names, sizeof(r->names));
    r->flags |= ZTDNS_ATTR_F_EXE;
    return;
  }
  __u32 zero = 0;
  struct walk_ctx c = {};
  c.out = bpf_map_lookup_elem(&scratch, &zero);
  if (!c.out) return;
  c.dentry = BPF_CORE_READ(exe, f_path.dentry);
  struct vfsmount* vfsmnt = BPF_CORE_READ(exe, f_path.mnt);
  c.mnt = container_of(vfsmnt, struct mount, mnt);
  bpf_loop(64, walk_step, &c, 0);
  if (c.too_long || c.count == 0) {
    r->flags |= ZTDNS_ATTR_F_EXE_TOO_LONG;
    return;
  }
  r->names_len = c.off;
  r->name_count = c.count;
  bpf_probe_read_kernel(r->names, sizeof(r->names), c.out->buf);
  r->flags |= ZTDNS_ATTR_F_EXE;
  /* The record doubles as the cache value's source (same layout of names). */
  struct exe_names* slot = (struct exe_names*)c.out;
  slot->len = r->names_len;
  slot->count = r->name_count;
  bpf_probe_read_kernel(slot->names, sizeof(slot->names), r->names);
  bpf_map_update_elem(&exe_cache, &key, slot, BPF_ANY);
}

/* Is `current` the task that produced this packet? */
static __always_inline __u32 context_flags(struct sock* sk, struct task_struct* task) {
  __u32 flags = 0;
  __u32 zero = 0;
  __u32* softirq = bpf_map_lookup_elem(&in_softirq, &zero);
  if (softirq && *softirq) flags |= ZTDNS_ATTR_F_SOFTIRQ;
  if ((BPF_CORE_READ(task, flags) & PF_KTHREAD_FLAG) || !BPF_CORE_READ(task, mm))
    flags |= ZTDNS_ATTR_F_KTHREAD;
  if (!sk || BPF_CORE_READ_BITFIELD_PROBED(sk, sk_kern_sock)) {
    flags |= ZTDNS_ATTR_F_KERN_SOCK;
  } else if (BPF_CORE_READ(sk, sk_protocol) == IPPROTO_TCP_NUM &&
             BPF_CORE_READ(sk, sk_type) == SOCK_STREAM_NUM && !BPF_CORE_READ(sk, sk_lock.owned)) {
    flags |= ZTDNS_ATTR_F_NOT_OWNER;
  }
  if (!flags) flags = ZTDNS_ATTR_F_TRUSTED;
  return flags;
}

static __always_inline int emit(struct sk_buff* skb, __u32 kind) {
  struct ztdns_attr_record* r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
  if (!r) {
    count(ZTDNS_ATTR_STAT_RINGBUF_FULL);
    return 0;
  }
  __builtin_memset(r, 0, sizeof(*r));
  r->ktime_ns = bpf_ktime_get_ns();
  r->kind = kind;

  unsigned char* head = BPF_CORE_READ(skb, head);
  __u16 nh = BPF_CORE_READ(skb, network_header);
  __u32 tail = BPF_CORE_READ(skb, tail);
  __u32 len = tail > nh ? tail - nh : 0;
  r->pkt_len = len > ZTDNS_ATTR_PKT_BYTES ? ZTDNS_ATTR_PKT_BYTES : len;
  bpf_probe_read_kernel(r->pkt, sizeof(r->pkt), head + nh);

  struct task_struct* task = bpf_get_current_task_btf();
  struct sock* sk = BPF_CORE_READ(skb, sk);
  r->flags = context_flags(sk, task);
  if (r->flags & ZTDNS_ATTR_F_TRUSTED) {
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    r->host_tgid = pid_tgid >> 32;
    struct bpf_pidns_info ns = {};
    if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)) == 0) {
      r->tgid = ns.tgid;
      r->tid = ns.pid;
      r->flags |= ZTDNS_ATTR_F_PIDNS;
    }
    __u64 uid_gid = bpf_get_current_uid_gid();
    r->uid = (__u32)uid_gid;
    r->gid = uid_gid >> 32;
    r->cgroup_id = bpf_get_current_cgroup_id();
    r->start_boottime_ns = BPF_CORE_READ(task, group_leader, start_boottime);
    bpf_get_current_comm(r->comm, sizeof(r->comm));
    fill_exe(r, task);
  }
  count(ZTDNS_ATTR_STAT_RECORDS);
  /* A wake-up per record costs more than the record. The reader drains the ring whenever
   * an NFLOG message arrives (the only time it needs records) and at least every 100 ms;
   * wake it early only when the ring is filling up. */
  __u64 flags = bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA) > (1 << 20) ? BPF_RB_FORCE_WAKEUP
                                                                           : BPF_RB_NO_WAKEUP;
  bpf_ringbuf_submit(r, flags);
  return 0;
}

static __always_inline __u32 netns_of_dev(struct net_device* dev) {
  return dev ? BPF_CORE_READ(dev, nd_net.net, ns.inum) : 0;
}

static __always_inline int is_ip(struct sk_buff* skb) {
  __u16 proto = BPF_CORE_READ(skb, protocol);
  return proto == ETH_P_IP_BE || proto == ETH_P_IPV6_BE;
}

/* Blocked: dropped by a netfilter verdict. At LOCAL_OUT skb->dev is not set yet; the
 * route's device names the namespace. Only the first three arguments exist everywhere. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(ztdns_on_drop, struct sk_buff* skb, void* location, enum skb_drop_reason reason) {
  if (reason != SKB_DROP_REASON_NETFILTER_DROP) return 0;
  if (!is_ip(skb)) return 0;
  unsigned long refdst = BPF_CORE_READ(skb, _skb_refdst) & ~1UL;
  struct dst_entry* dst = (struct dst_entry*)refdst;
  struct net_device* dev = dst ? BPF_CORE_READ(dst, dev) : BPF_CORE_READ(skb, dev);
  if (netns_of_dev(dev) != netns_ino) return 0;
  return emit(skb, ZTDNS_ATTR_KIND_DROP);
}

/* Accepted: the first packet of a new connection leaving a device of our namespace. */
SEC("tp_btf/net_dev_queue")
int BPF_PROG(ztdns_on_xmit, struct sk_buff* skb) {
  if (netns_of_dev(BPF_CORE_READ(skb, dev)) != netns_ino) return 0;
  if ((BPF_CORE_READ(skb, _nfct) & 7) != IP_CT_NEW) return 0;
  if (!BPF_CORE_READ(skb, sk)) return 0; /* forwarded or kernel-made: nobody to name */
  if (!is_ip(skb)) return 0;
  return emit(skb, ZTDNS_ATTR_KIND_XMIT);
}

#include "observe/kernel_attribution.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/c_ptr.h"
#include "observe/bpf/attribution_record.h"

#ifdef ZTDNS_HAVE_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attribution.skel.h"
#endif

namespace ztdns::observe {

namespace {

// The initial pid namespace has a fixed inode number (PROC_PID_INIT_INO).
constexpr ino_t kInitPidNsIno = 0xEFFFFFFCu;

}  // namespace

std::string pathFromLeafFirst(const char* names, size_t length, uint32_t count) {
  std::vector<std::string_view> parts;
  size_t off = 0;
  while (off < length && parts.size() < count) {
    size_t n = strnlen(names + off, length - off);
    if (n == 0 || off + n >= length + 1) break;
    parts.emplace_back(names + off, n);
    off += n + 1;
  }
  if (parts.size() != count) return "";
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    path += '/';
    path += *it;
  }
  return path;
}

std::optional<KernelRecord> parseKernelRecord(const void* data, size_t size, bool initPidNs) {
  if (size < sizeof(ztdns_attr_record)) return std::nullopt;
  ztdns_attr_record r;
  std::memcpy(&r, data, sizeof r);
  KernelRecord out;
  out.kind =
      r.kind == ZTDNS_ATTR_KIND_XMIT ? KernelRecord::Kind::Transmit : KernelRecord::Kind::Drop;
  out.time = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(r.ktime_ns));
  out.flags = r.flags;
  size_t len = std::min<size_t>(r.pkt_len, sizeof r.pkt);
  out.packet.assign(r.pkt, r.pkt + len);
  if (r.flags & ZTDNS_ATTR_F_TRUSTED) {
    TaskIdentity t;
    t.hostPid = r.host_tgid;
    if (initPidNs) {
      t.pid = r.host_tgid;
    } else if (r.flags & ZTDNS_ATTR_F_PIDNS) {
      t.pid = r.tgid;
    }
    t.startBoottimeNs = r.start_boottime_ns;
    t.uid = r.uid;
    t.cgroupId = r.cgroup_id;
    t.comm.assign(r.comm, strnlen(r.comm, sizeof r.comm));
    t.exeIno = r.exe_ino;
    t.exeDevKernel = r.exe_dev;
    if (r.flags & ZTDNS_ATTR_F_EXE) {
      t.exeWalk =
          pathFromLeafFirst(r.names, std::min<size_t>(r.names_len, sizeof r.names), r.name_count);
    }
    out.task = std::move(t);
  }
  return out;
}

#ifdef ZTDNS_HAVE_BPF

namespace {

void destroySkeleton(ztdns_attribution* s) {
  ztdns_attribution::destroy(s);
}
using Skeleton = std::unique_ptr<ztdns_attribution, decltype(&destroySkeleton)>;
using RingBuffer = CPtr<ring_buffer, ring_buffer__free>;
using Link = CPtr<bpf_link, bpf_link__destroy>;

int quietPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_WARN && std::getenv("ZTDNS_BPF_DEBUG")) return vfprintf(stderr, format, args);
  return 0;
}

class BpfAttribution final : public KernelAttribution {
 public:
  BpfAttribution() : skel_(nullptr, &destroySkeleton) {}

  Status init(const Options& o) {
    libbpf_set_print(quietPrint);
    if (::access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
      return Error{
          "the kernel has no BTF (/sys/kernel/btf/vmlinux), so the CO-RE program cannot load"};
    }
    struct stat netns {
    }, pidns{};
    if (::stat("/proc/self/ns/net", &netns) != 0 || ::stat("/proc/self/ns/pid", &pidns) != 0) {
      return Error::fromErrno("stat /proc/self/ns", errno);
    }
    initPidNs_ = pidns.st_ino == kInitPidNsIno;
    skel_.reset(ztdns_attribution::open());
    if (!skel_) return Error::fromErrno("opening the attribution BPF object", errno);
    skel_->rodata->netns_ino = static_cast<__u32>(o.netnsIno ? o.netnsIno : netns.st_ino);
    skel_->rodata->pidns_dev = pidns.st_dev;
    skel_->rodata->pidns_ino = pidns.st_ino;
    if (int err = ztdns_attribution::load(skel_.get()); err) {
      return Error{
          std::string("loading the attribution BPF programs failed: ") + std::strerror(-err) +
              " (needs CAP_BPF and CAP_PERFMON, BTF tracepoints and bpf_loop: Linux 5.17+)",
          -err};
    }
    // The softirq flag must be live before the packet programs trust `current`.
    for (bpf_program* p : {skel_->progs.ztdns_softirq_entry, skel_->progs.ztdns_softirq_exit,
                           skel_->progs.ztdns_on_drop}) {
      Link link(bpf_program__attach(p));
      if (!link) {
        int err = errno;
        return Error{
            std::string("attaching ") + bpf_program__name(p) + " failed: " + std::strerror(err),
            err};
      }
      links_.push_back(std::move(link));
    }
    if (auto st = setAttributeAccepted(o.attributeAccepted); !st) return st;
    ring_.reset(ring_buffer__new(bpf_map__fd(skel_->maps.records), &BpfAttribution::onSample, this,
                                 nullptr));
    if (!ring_) return Error::fromErrno("ring_buffer__new", errno);
    return okStatus();
  }

  int fd() const override { return ring_buffer__epoll_fd(ring_.get()); }

  void consume(const std::function<void(KernelRecord&&)>& onRecord) override {
    sink_ = &onRecord;
    ring_buffer__consume(ring_.get());
    sink_ = nullptr;
  }

  Status setAttributeAccepted(bool on) override {
    if (on && !xmit_) {
      xmit_.reset(bpf_program__attach(skel_->progs.ztdns_on_xmit));
      if (!xmit_) return Error::fromErrno("attaching the net_dev_queue tracepoint", errno);
    } else if (!on) {
      xmit_.reset();
    }
    return okStatus();
  }

  KernelAttributionStats stats() const override {
    KernelAttributionStats s;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return s;
    std::vector<__u64> values(static_cast<size_t>(ncpu));
    int fd = bpf_map__fd(skel_->maps.stats);
    for (__u32 key : {static_cast<__u32>(ZTDNS_ATTR_STAT_RECORDS),
                      static_cast<__u32>(ZTDNS_ATTR_STAT_RINGBUF_FULL)}) {
      if (bpf_map_lookup_elem(fd, &key, values.data()) != 0) continue;
      __u64 sum = 0;
      for (auto v : values) sum += v;
      (key == ZTDNS_ATTR_STAT_RECORDS ? s.records : s.ringBufferFull) = sum;
    }
    for (bpf_program* p : {skel_->progs.ztdns_softirq_entry, skel_->progs.ztdns_softirq_exit,
                           skel_->progs.ztdns_on_drop, skel_->progs.ztdns_on_xmit}) {
      bpf_prog_info info{};
      __u32 len = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0) {
        s.runCount += info.run_cnt;
        s.runTimeNs += info.run_time_ns;
        if (p == skel_->progs.ztdns_on_drop || p == skel_->progs.ztdns_on_xmit) {
          s.packetRuns += info.run_cnt;
          s.packetRunTimeNs += info.run_time_ns;
        }
      }
    }
    return s;
  }

 private:
  static int onSample(void* ctx, void* data, size_t size) {
    auto* self = static_cast<BpfAttribution*>(ctx);
    if (!self->sink_) return 0;
    if (auto r = parseKernelRecord(data, size, self->initPidNs_)) (*self->sink_)(std::move(*r));
    return 0;
  }

  Skeleton skel_;
  std::vector<Link> links_;
  Link xmit_;
  RingBuffer ring_;
  bool initPidNs_ = false;
  const std::function<void(KernelRecord&&)>* sink_ = nullptr;
};

}  // namespace

bool KernelAttribution::built() {
  return true;
}

Result<std::unique_ptr<KernelAttribution>> KernelAttribution::load(const Options& options) {
  auto a = std::make_unique<BpfAttribution>();
  if (auto st = a->init(options); !st) return st.error();
  return std::unique_ptr<KernelAttribution>(std::move(a));
}

#else

bool KernelAttribution::built() {
  return false;
}

Result<std::unique_ptr<KernelAttribution>> KernelAttribution::load(const Options&) {
  return Error{
      "this build has no BPF attribution object (clang, bpftool or kernel BTF were missing at "
      "build time)"};
}

#endif

}  // namespace ztdns::observe

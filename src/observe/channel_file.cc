#include "observe/channel_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace ztdns::observe {

ChannelFile::ChannelFile(std::string directory, std::string fileName, uint64_t maxBytes,
                         unsigned keepFiles)
    : directory_(std::move(directory)),
      name_(std::move(fileName)),
      path_(directory_ + "/" + name_),
      maxBytes_(maxBytes),
      keep_(keepFiles) {}

void ChannelFile::setLimits(uint64_t maxBytes, unsigned keepFiles) {
  maxBytes_ = maxBytes;
  keep_ = keepFiles;
}

Status ChannelFile::openFile() {
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640));
  if (!fd.valid()) return Error::fromErrno("open " + path_, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::fromErrno("fstat " + path_, errno);
  size_ = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  if (size_ > 0) {
    char last = '\n';
    if (::pread(fd.get(), &last, 1, static_cast<off_t>(size_ - 1)) == 1)
      needsNewline_ = last != '\n';
  }
  fd_ = std::move(fd);
  return okStatus();
}

void ChannelFile::rotate() {
  fd_.reset();
  if (keep_ == 0) {
    ::unlink(path_.c_str());
  } else {
    std::string oldest = path_ + "." + std::to_string(keep_);
    ::unlink(oldest.c_str());
    for (unsigned i = keep_; i > 1; --i) {
      std::string from = path_ + "." + std::to_string(i - 1);
      std::string to = path_ + "." + std::to_string(i);
      ::rename(from.c_str(), to.c_str());
    }
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  }
  ++rotations_;
  size_ = 0;
  needsNewline_ = false;
}

Status ChannelFile::append(std::string_view lines) {
  if (lines.empty()) return okStatus();
  if (fd_.valid() && maxBytes_ > 0 && size_ > 0 && size_ + lines.size() > maxBytes_) rotate();
  if (!fd_.valid()) {
    if (auto st = openFile(); !st) return st;
    if (maxBytes_ > 0 && size_ > 0 && size_ + lines.size() > maxBytes_) {
      rotate();
      if (auto st = openFile(); !st) return st;
    }
  }
  std::string buffer;
  std::string_view out = lines;
  if (needsNewline_) {
    buffer.reserve(lines.size() + 1);
    buffer.push_back('\n');
    buffer.append(lines);
    out = buffer;
  }
  uint64_t before = size_;
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::write(fd_.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      // Cut a partial batch back so the file holds only whole lines.
      if (done > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(before)) != 0) needsNewline_ = true;
      fd_.reset();
      return Error::fromErrno("write " + path_, err);
    }
    done += static_cast<size_t>(n);
  }
  size_ = before + out.size();
  needsNewline_ = false;
  return okStatus();
}

}  // namespace ztdns::observe

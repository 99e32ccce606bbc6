// ChannelFile: one JSONL channel file with size rotation and all-or-nothing appends.
//
// append() writes a batch of complete lines or nothing: a short write (disk full) is cut
// back with ftruncate, so readers never see half a line. Failures are returned, never
// retried here (the caller counts the lost lines). The file is reopened after an error,
// so a directory that comes back, or space that frees up, is picked up on the next batch.
// Rotation: "X.jsonl" -> "X.jsonl.1" -> ... -> "X.jsonl.<keep>", the oldest deleted.
// Owned by one thread (the log writer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/unique_fd.h"

namespace ztdns::observe {

class ChannelFile {
 public:
  ChannelFile(std::string directory, std::string fileName, uint64_t maxBytes, unsigned keepFiles);

  void setLimits(uint64_t maxBytes, unsigned keepFiles);
  Status append(std::string_view lines);
  void close() { fd_.reset(); }

  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  uint64_t rotations() const { return rotations_; }

 private:
  Status openFile();
  void rotate();

  std::string directory_;
  std::string name_;
  std::string path_;
  uint64_t maxBytes_;
  unsigned keep_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  bool needsNewline_ = false;  // the file ends in a partial line we could not cut back
  uint64_t rotations_ = 0;
};

}  // namespace ztdns::observe

// ChildProcess: a peer program (unbound, nginx) started by a test and stopped by its PID
// only. TempDir: a directory removed with everything in it when the test ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ztdns::testing {

class TempDir {
 public:
  TempDir();  // under $TMPDIR or /tmp
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // fork+exec argv with stdout and stderr appended to logFile. Returns false if the exec
  // failed immediately.
  bool start(const std::vector<std::string>& argv, const std::string& logFile);
  // SIGTERM, wait up to 3 s, then SIGKILL; only our own PID. Idempotent.
  void stop();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Polls a TCP connect to addr:port until it succeeds or `timeout` passes.
bool waitForTcp(const std::string& addr, uint16_t port,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Reads a whole file ("" when missing): logs in failure messages.
std::string readFile(const std::string& path);
void writeFile(const std::string& path, const std::string& text);

}  // namespace ztdns::testing

// A CLI test fixture: a real control::Server on a temporary socket with the fake handler,
// and runCli() in-process with a controlled environment (nothing comes from the host's).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "../control/test_socket.h"
#include "cli/cli.h"
#include "control/server.h"
#include "fake_control_handler.h"

namespace ztdns::cli {

struct RunResult {
  int rc = -1;
  std::string out;
  std::string err;
};

class CliFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    control::ServerOptions o;
    o.socketPath = dir_.file("control.sock");
    o.readGroupName = "ztdns-no-such-group-for-tests";
    auto s = control::Server::start(o, handler_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
    env_["ZTDNS_SOCKET"] = o.socketPath;
  }

  RunResult run(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    Environment env(out, err);
    env.getenv = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      return it == env_.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    if (now_) env.now = [t = *now_] { return t; };
    RunResult r;
    r.rc = runCli(args, env);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  testing::TempDir dir_;
  testing::FakeControlHandler handler_;
  std::unique_ptr<control::Server> server_;
  std::map<std::string, std::string> env_;
  std::optional<std::chrono::system_clock::time_point> now_;
};

}  // namespace ztdns::cli

// Test support: run a unit test inside a private network namespace.
//
// Tests that touch the kernel (nftables, NFLOG, sockets on lab addresses) call
// enterPrivateNetnsOrSkip() first. It unshares a fresh network namespace for the whole
// test process (so call it before starting threads), brings up loopback, and skips the
// test (GTEST_SKIP, reported as skipped) without root. The machine's root namespace is
// never touched, and the namespace disappears with the process.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace ztdns::testing {

// Returns an empty string on success, else why the namespace could not be made.
std::string enterPrivateNetns();

// Runs `command` with /bin/sh inside the current (private) namespace; returns its exit
// status and appends its stdout to *output when given.
int runShell(const std::string& command, std::string* output = nullptr);

}  // namespace ztdns::testing

#define ZTDNS_ENTER_PRIVATE_NETNS_OR_SKIP()                                 \
  do {                                                                      \
    std::string why_ = ::ztdns::testing::enterPrivateNetns();               \
    if (!why_.empty()) GTEST_SKIP() << "needs a private network namespace: " << why_; \
  } while (0)

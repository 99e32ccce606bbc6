// Dispatcher: turns one decoded request into a Handler call and the reply into JSON.
// Params are decoded strictly here (errors name the field); the reply is post-processed
// (filters for show server/exception, certificate details) on the control thread.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/codec.h"
#include "control/handler.h"

namespace ztdns::control {

class Dispatcher {
 public:
  // `post` runs a function on the control thread (the Server posts to its io_context).
  using Post = std::function<void(std::function<void()>)>;
  using Done = std::function<void(Result<nlohmann::json>)>;

  Dispatcher(Handler& handler, Post post) : handler_(handler), post_(std::move(post)) {}

  // Calls the handler; `done` runs on the control thread with the encoded result or the
  // error (at most once, even if the handler replies twice). Handler exceptions become
  // "internal" errors.
  void dispatch(const Peer& peer, const Request& request, Done done);

 private:
  template <class R, class Fix>
  Reply<R> replyTo(Done done, Fix fix);

  Handler& handler_;
  Post post_;
};

}  // namespace ztdns::control

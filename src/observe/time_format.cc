#include "observe/time_format.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace ztdns::observe {

std::string formatTime(SystemTime time) {
  using namespace std::chrono;
  auto micros = duration_cast<microseconds>(time.time_since_epoch()).count();
  auto seconds = micros / 1000000;
  auto fraction = micros % 1000000;
  if (fraction < 0) {
    fraction += 1000000;
    seconds -= 1;
  }
  time_t t = static_cast<time_t>(seconds);
  tm parts{};
  gmtime_r(&t, &parts);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", parts.tm_year + 1900,
                parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec,
                static_cast<long long>(fraction));
  return buf;
}

namespace {

bool readInt(std::string_view& s, size_t digits, int& out) {
  if (s.size() < digits) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + digits, out);
  if (ec != std::errc() || p != s.data() + digits) return false;
  s.remove_prefix(digits);
  return true;
}

bool expect(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

}  // namespace

std::optional<SystemTime> parseTime(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!readInt(s, 4, year) || !expect(s, '-') || !readInt(s, 2, month) || !expect(s, '-') ||
      !readInt(s, 2, day)) {
    return std::nullopt;
  }
  if (s.empty() || (s.front() != 'T' && s.front() != 't' && s.front() != ' ')) return std::nullopt;
  s.remove_prefix(1);
  if (!readInt(s, 2, hour) || !expect(s, ':') || !readInt(s, 2, minute) || !expect(s, ':') ||
      !readInt(s, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  long long micros = 0;
  if (!s.empty() && s.front() == '.') {
    s.remove_prefix(1);
    int digits = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      if (digits < 6) {
        micros = micros * 10 + (s.front() - '0');
        ++digits;
      }
      s.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    while (digits++ < 6) micros *= 10;
  }
  int offsetMinutes = 0;
  if (s == "Z" || s == "z") {
    s.remove_prefix(1);
  } else if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    int sign = s.front() == '-' ? -1 : 1;
    s.remove_prefix(1);
    int oh, om;
    if (!readInt(s, 2, oh) || !expect(s, ':') || !readInt(s, 2, om)) return std::nullopt;
    offsetMinutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (!s.empty()) return std::nullopt;
  using namespace std::chrono;
  auto date =
      year_month_day{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                     std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  auto tp = sys_days{date} + hours{hour} + minutes{minute} + seconds{second} +
            microseconds{micros} - minutes{offsetMinutes};
  return time_point_cast<SystemTime::duration>(tp);
}

std::optional<std::chrono::seconds> parseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long multiplier = 1;
  switch (text.back()) {
    case 's':
      multiplier = 1;
      break;
    case 'm':
      multiplier = 60;
      break;
    case 'h':
      multiplier = 3600;
      break;
    case 'd':
      multiplier = 86400;
      break;
    case 'w':
      multiplier = 7 * 86400;
      break;
    default:
      multiplier = 0;
      break;
  }
  std::string_view digits = multiplier ? text.substr(0, text.size() - 1) : text;
  if (!multiplier) multiplier = 1;
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  long long value = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || p != digits.data() + digits.size() || value <= 0) return std::nullopt;
  return std::chrono::seconds(value * multiplier);
}

SystemTime wallTimeFromMonotonic(std::chrono::steady_clock::time_point monotonic) {
  auto nowWall = std::chrono::system_clock::now();
  auto nowMono = std::chrono::steady_clock::now();
  return nowWall - std::chrono::duration_cast<SystemTime::duration>(nowMono - monotonic);
}

}  // namespace ztdns::observe

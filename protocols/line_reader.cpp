#include "protocols/line_reader.hpp"

namespace xr {

void LineReader::compact() {
  // Keep the buffer from growing with consumed bytes.
  if (pos_ > 0 && (pos_ >= buf_.size() || pos_ > 4096)) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
}

LineReader::Status LineReader::next(std::string& line) {
  for (;;) {
    auto lf = buf_.find('\n', pos_);
    if (discarding_) {
      if (lf == std::string::npos) {
        buf_.clear();
        pos_ = 0;
        return Status::need_more;
      }
      pos_ = lf + 1;
      discarding_ = false;
      compact();
      continue;
    }
    if (lf == std::string::npos) {
      if (buf_.size() - pos_ > max_ + 1) {  // +1: a CR may still be followed by LF
        discarding_ = true;
        return Status::too_long;
      }
      compact();
      return Status::need_more;
    }
    std::size_t end = lf;
    if (end > pos_ && buf_[end - 1] == '\r') --end;
    if (end - pos_ > max_) {
      pos_ = lf + 1;
      compact();
      return Status::too_long;
    }
    line.assign(buf_, pos_, end - pos_);
    pos_ = lf + 1;
    compact();
    return Status::line;
  }
}

std::size_t LineReader::take_bytes(std::string& out, std::size_t n) {
  std::size_t k = std::min(n, buf_.size() - pos_);
  out.append(buf_, pos_, k);
  pos_ += k;
  compact();
  return k;
}

std::string LineReader::take_rest() {
  std::string rest = buf_.substr(pos_);
  clear();
  return rest;
}

}  // namespace xr

#include "protocols/line_reader.hpp"

#include "protocols/secret.hpp"

namespace xr {

LineReader::~LineReader() { wipe_secret(buf_); }

void LineReader::feed(std::string_view bytes) { append_wiping(buf_, bytes); }

void LineReader::clear() {
  wipe_secret(buf_);
  pos_ = 0;
  discarding_ = false;
}

void LineReader::consume(std::size_t new_pos) {
  // What was handed out is overwritten at once: it may be a password line.
  explicit_bzero(buf_.data() + pos_, new_pos - pos_);
  pos_ = new_pos;
  compact();
}

void LineReader::compact() {
  // Keep the buffer from growing with consumed bytes.
  if (pos_ > 0 && (pos_ >= buf_.size() || pos_ > 4096)) {
    erase_front_wiping(buf_, pos_);
    pos_ = 0;
  }
}

LineReader::Status LineReader::next(std::string& line) {
  for (;;) {
    auto lf = buf_.find('\n', pos_);
    if (discarding_) {
      if (lf == std::string::npos) {
        wipe_secret(buf_);
        pos_ = 0;
        return Status::need_more;
      }
      consume(lf + 1);
      discarding_ = false;
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
      consume(lf + 1);
      return Status::too_long;
    }
    line.assign(buf_, pos_, end - pos_);
    consume(lf + 1);
    return Status::line;
  }
}

std::size_t LineReader::take_bytes(std::string& out, std::size_t n) {
  std::size_t k = std::min(n, buf_.size() - pos_);
  out.append(buf_, pos_, k);
  consume(pos_ + k);
  return k;
}

std::string LineReader::take_rest() {
  std::string rest = buf_.substr(pos_);
  clear();
  return rest;
}

}  // namespace xr

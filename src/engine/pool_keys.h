// Which pools of pre-started generic instances the engine keeps: their keys
// (runtime::genericPoolKey), most recently asked for first, at most a fixed number of them.
// python3.11 needs one pool; nodejs20.x one per memory size, since Node's heap limits are fixed
// when it starts. The engine starts with each runtime's default-size pool and adds the pool a
// cold start asked for; beyond the limit, the least recently asked for is dropped.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gust::engine {

// Not thread-safe: the engine's mutex guards it.
class PoolKeys {
 public:
  struct Touched {
    bool added = false;                  // a pool the engine did not keep yet
    std::optional<std::string> dropped;  // the pool dropped to make room for it
  };

  PoolKeys(std::vector<std::string> initial, size_t max) : max_(std::max<size_t>(max, 1)) {
    for (auto& key : initial)
      if (!key.empty() && !contains(key) && keys_.size() < max_) keys_.push_back(std::move(key));
  }

  // A cold start asked for `key`: it becomes the most recently asked for.
  Touched touch(const std::string& key) {
    Touched t;
    auto it = std::find(keys_.begin(), keys_.end(), key);
    if (it != keys_.end()) {
      std::rotate(keys_.begin(), it, std::next(it));
      return t;
    }
    t.added = true;
    if (keys_.size() >= max_) {
      t.dropped = std::move(keys_.back());
      keys_.pop_back();
    }
    keys_.insert(keys_.begin(), key);
    return t;
  }

  bool contains(std::string_view key) const {
    return std::find(keys_.begin(), keys_.end(), key) != keys_.end();
  }
  // Most recently asked for first.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  size_t max_;
  std::vector<std::string> keys_;
};

}  // namespace gust::engine

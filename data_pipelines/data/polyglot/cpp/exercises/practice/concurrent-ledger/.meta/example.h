#pragma once

#include <mutex>

namespace concurrent_ledger {

class Ledger {
 public:
  void deposit(long cents);
  void withdraw(long cents);
  long balance() const;

 private:
  mutable std::mutex mutex_;
  long balance_ = 0;
};

}  // namespace concurrent_ledger

#include "concurrent_ledger.h"

#include <stdexcept>

namespace concurrent_ledger {

void Ledger::deposit(long cents) {
  if (cents < 0) throw std::invalid_argument("negative deposit");
  std::lock_guard<std::mutex> lock(mutex_);
  balance_ += cents;
}

void Ledger::withdraw(long cents) {
  if (cents < 0) throw std::invalid_argument("negative withdrawal");
  std::lock_guard<std::mutex> lock(mutex_);
  if (cents > balance_) throw std::runtime_error("insufficient funds");
  balance_ -= cents;
}

long Ledger::balance() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return balance_;
}

}  // namespace concurrent_ledger

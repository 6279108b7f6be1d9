#pragma once

namespace concurrent_ledger {

class Ledger {
 public:
  void deposit(long cents);
  void withdraw(long cents);
  long balance() const;
};

}  // namespace concurrent_ledger

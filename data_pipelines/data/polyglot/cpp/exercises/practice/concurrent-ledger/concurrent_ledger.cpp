#include "concurrent_ledger.h"

namespace concurrent_ledger {

void Ledger::deposit(long cents) { static_cast<void>(cents); }

void Ledger::withdraw(long cents) { static_cast<void>(cents); }

long Ledger::balance() const { return 0; }

}  // namespace concurrent_ledger

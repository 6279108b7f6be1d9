#include "concurrent_ledger.h"
#ifdef EXERCISM_TEST_SUITE
#include <catch2/catch.hpp>
#else
#include "test/catch.hpp"
#endif

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

TEST_CASE("a new ledger holds nothing") {
  concurrent_ledger::Ledger ledger;
  REQUIRE(ledger.balance() == 0);
}

#if defined(EXERCISM_RUN_ALL_TESTS)
TEST_CASE("deposits and withdrawals change the balance") {
  concurrent_ledger::Ledger ledger;
  ledger.deposit(500);
  ledger.withdraw(120);
  REQUIRE(ledger.balance() == 380);
}

TEST_CASE("an overdraft is refused and changes nothing") {
  concurrent_ledger::Ledger ledger;
  ledger.deposit(10);
  REQUIRE_THROWS_AS(ledger.withdraw(11), std::runtime_error);
  REQUIRE(ledger.balance() == 10);
}

TEST_CASE("negative amounts are refused") {
  concurrent_ledger::Ledger ledger;
  REQUIRE_THROWS_AS(ledger.deposit(-1), std::invalid_argument);
  REQUIRE_THROWS_AS(ledger.withdraw(-1), std::invalid_argument);
}

TEST_CASE("a thousand threads at once lose no update") {
  // No thread may work before all are started, so the 1000 threads (and their stacks) are alive together.
  constexpr int kThreads = 1000;
  concurrent_ledger::Ledger ledger;
  std::mutex gate_mutex;
  std::condition_variable gate;
  bool open = false;
  int started = 0;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      {
        std::unique_lock<std::mutex> lock(gate_mutex);
        ++started;
        gate.wait(lock, [&] { return open; });
      }
      ledger.deposit(5);
      ledger.withdraw(2);
    });
  }
  {
    std::lock_guard<std::mutex> lock(gate_mutex);
    open = true;
  }
  gate.notify_all();
  for (auto& thread : threads) thread.join();
  REQUIRE(started == kThreads);
  REQUIRE(ledger.balance() == 3 * kThreads);
}
#endif

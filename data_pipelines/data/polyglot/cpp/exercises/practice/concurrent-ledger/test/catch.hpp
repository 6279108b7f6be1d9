// A minimal, self-contained unit-test header for the bundled hrm-jax C++ exercises.
//
// Original code (Apache-2.0, see ../../LICENSE). It is NOT Catch2: it implements only the small subset of the
// Catch2 v2 macro vocabulary that the bundled tests use (TEST_CASE, REQUIRE, REQUIRE_FALSE, CHECK,
// REQUIRE_THROWS, REQUIRE_THROWS_AS), so that the files keep the Exercism/Aider layout (`test/catch.hpp`,
// `test/tests-main.cpp`) without vendoring Catch2. Define CATCH_CONFIG_MAIN in exactly one translation unit
// to get `main`, which runs every registered test case and exits non-zero if any assertion failed.
#ifndef HRM_JAX_MINI_CATCH_HPP
#define HRM_JAX_MINI_CATCH_HPP

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace minicatch {

struct TestCase {
  void (*function)();
  const char* name;
  const char* file;
  int line;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}

inline int assertion_count = 0;
inline int failed_assertions_in_case = 0;

// Thrown by a failing REQUIRE to abandon the current test case.
struct RequireFailed {};

struct Registrar {
  Registrar(void (*function)(), const char* file, int line, const char* name, const char* tags = "") {
    static_cast<void>(tags);
    registry().push_back(TestCase{function, name, file, line});
  }
};

inline void report(bool ok, const char* macro, const char* expression, const char* file, int line, bool fatal) {
  ++assertion_count;
  if (ok) return;
  ++failed_assertions_in_case;
  std::printf("%s:%d: FAILED:\n  %s( %s )\n", file, line, macro, expression);
  if (fatal) throw RequireFailed{};
}

inline int run_all() {
  int failed_cases = 0;
  for (const TestCase& test : registry()) {
    failed_assertions_in_case = 0;
    try {
      test.function();
    } catch (const RequireFailed&) {
    } catch (const std::exception& error) {
      ++failed_assertions_in_case;
      std::printf("%s:%d: FAILED:\n  unexpected exception: %s\n", test.file, test.line, error.what());
    } catch (...) {
      ++failed_assertions_in_case;
      std::printf("%s:%d: FAILED:\n  unexpected exception of unknown type\n", test.file, test.line);
    }
    if (failed_assertions_in_case > 0) {
      ++failed_cases;
      std::printf("  in test case: \"%s\"\n\n", test.name);
    }
  }
  const int total = static_cast<int>(registry().size());
  if (failed_cases == 0) {
    std::printf("All tests passed (%d assertions in %d test cases)\n", assertion_count, total);
    return 0;
  }
  std::printf("test cases: %d | %d passed | %d failed\n", total, total - failed_cases, failed_cases);
  return 1;
}

}  // namespace minicatch

#define MINICATCH_CONCAT_INNER(a, b) a##b
#define MINICATCH_CONCAT(a, b) MINICATCH_CONCAT_INNER(a, b)

#define TEST_CASE(...)                                                                              \
  static void MINICATCH_CONCAT(minicatch_test_, __LINE__)();                                       \
  namespace {                                                                                       \
  const ::minicatch::Registrar MINICATCH_CONCAT(minicatch_registrar_, __LINE__)(                    \
      &MINICATCH_CONCAT(minicatch_test_, __LINE__), __FILE__, __LINE__, __VA_ARGS__);               \
  }                                                                                                 \
  static void MINICATCH_CONCAT(minicatch_test_, __LINE__)()

#define REQUIRE(...) ::minicatch::report(static_cast<bool>(__VA_ARGS__), "REQUIRE", #__VA_ARGS__, __FILE__, __LINE__, true)
#define REQUIRE_FALSE(...) ::minicatch::report(!static_cast<bool>(__VA_ARGS__), "REQUIRE_FALSE", #__VA_ARGS__, __FILE__, __LINE__, true)
#define CHECK(...) ::minicatch::report(static_cast<bool>(__VA_ARGS__), "CHECK", #__VA_ARGS__, __FILE__, __LINE__, false)

#define REQUIRE_THROWS_AS(expression, exception_type)                                           \
  do {                                                                                         \
    bool minicatch_caught = false;                                                             \
    try {                                                                                      \
      static_cast<void>(expression);                                                           \
    } catch (const exception_type&) {                                                          \
      minicatch_caught = true;                                                                 \
    } catch (...) {                                                                            \
    }                                                                                          \
    ::minicatch::report(minicatch_caught, "REQUIRE_THROWS_AS", #expression ", " #exception_type, \
                        __FILE__, __LINE__, true);                                             \
  } while (false)

#define REQUIRE_THROWS(expression)                                                             \
  do {                                                                                         \
    bool minicatch_caught = false;                                                             \
    try {                                                                                      \
      static_cast<void>(expression);                                                           \
    } catch (...) {                                                                            \
      minicatch_caught = true;                                                                 \
    }                                                                                          \
    ::minicatch::report(minicatch_caught, "REQUIRE_THROWS", #expression, __FILE__, __LINE__, true); \
  } while (false)

#ifdef CATCH_CONFIG_MAIN
int main() { return ::minicatch::run_all(); }
#endif

#endif  // HRM_JAX_MINI_CATCH_HPP

// Linux system calls the Swift Glibc module does not export (it cannot import the variadic
// syscall(2)), wrapped with fixed signatures for the shared-memory backend.
#ifndef SWIFTMPI_CLINUXSYSTEM_H
#define SWIFTMPI_CLINUXSYSTEM_H

#include <stdint.h>

/// Sleeps while `*word == expected`, at most `nanoseconds` (FUTEX_WAIT on memory shared between
/// processes). Returns 0 when woken, -1 with errno EAGAIN (the word differed), ETIMEDOUT or EINTR.
int swiftmpi_futex_wait(uint32_t *word, uint32_t expected, long nanoseconds);

/// Wakes up to `count` processes sleeping on `word` (FUTEX_WAKE). Returns how many woke.
int swiftmpi_futex_wake(uint32_t *word, int count);

#endif

/*
 * The checks the C API tests share: CHECK and CHECK_EQ count and report, never stop, so
 * that one run lists every failure; main() returns non-zero when any failed.
 */
#ifndef UDPCAST_TEST_CHECK_H
#define UDPCAST_TEST_CHECK_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int checks, failures;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        checks++;                                                                         \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                 \
    } while (0)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        unsigned long long va_ = (unsigned long long)(a), vb_ = (unsigned long long)(b);  \
        checks++;                                                                         \
        if (va_ != vb_) {                                                                 \
            failures++;                                                                   \
            fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__, __LINE__, \
                    #a, #b, va_, vb_);                                                    \
        }                                                                                 \
    } while (0)

/* A dotted quad as C keeps it in s_addr (network byte order). */
static uint32_t ip(const char *s)
{
    struct in_addr a;
    if (!inet_aton(s, &a))
        abort();
    return a.s_addr;
}

#endif

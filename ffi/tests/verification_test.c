/*
 * Verified transfers (doc/verified-transfers.md) through libudpcast's C API: a sender and
 * a receiver wired together in memory with a fake clock. A sender with an identity and a
 * receiver of ours verify every slice and the whole stream; a corrupted block is asked for
 * again; a wrong name is refused before a byte is handed out; a plain sender, or a
 * receiver with verification off, runs plain udpcast. Then the arguments the API refuses.
 *
 * Run with ffi/tests/run-c-tests.sh. Exit status 0 only if every check passed.
 */
#define _DEFAULT_SOURCE

#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "udpcast.h"

#define SECOND 1000000u
#define SESSION 0x0123456789abcdefull
#define PORTBASE 9000
/* CRC-32C of "123456789", the catalogue's check value. */
#define CRC32C_CHECK 0xe3069283u

struct setup {
    const uint8_t *input;
    size_t len;
    const char *sender_name; /* NULL: no identity, the sender is plain udpcast */
    const char *expect_name; /* NULL: any stream */
    bool verify;             /* the receiver's config */
    int corrupt_block;       /* a DATA block of slice 0 flipped once on the wire; -1: none */
};

struct outcome {
    uint8_t *out;
    size_t out_len;
    unsigned kinds; /* a bit per receiver event kind seen */
    udpc_receiver_event identified, not_verified, slice_failed, verified, failed;
    uint32_t connect_req_caps;
    bool rx_finished, tx_finished, rx_verifies, tx_verifies;
    udpc_result rx_identity_result, tx_check_result, late_identity_result;
    udpc_identity rx_identity;
    uint64_t tx_bytes;
    uint32_t tx_crc32c;
    udpc_receiver_stats stats;
};

static bool saw(const struct outcome *o, udpc_receiver_event_kind kind)
{
    return (o->kinds >> kind) & 1u;
}

static void take_events(udpc_receiver *rx, struct outcome *o)
{
    udpc_receiver_event ev;
    while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
        o->kinds |= 1u << ev.kind;
        switch (ev.kind) {
        case UDPC_RX_IDENTIFIED: o->identified = ev; break;
        case UDPC_RX_NOT_VERIFIED: o->not_verified = ev; break;
        case UDPC_RX_SLICE_FAILED_CHECK: o->slice_failed = ev; break;
        case UDPC_RX_VERIFIED: o->verified = ev; break;
        case UDPC_RX_FAILED: o->failed = ev; break;
        default: break;
        }
    }
}

static void take_output(udpc_receiver *rx, struct outcome *o, size_t cap)
{
    const uint8_t *p;
    size_t len;
    while (udpc_receiver_output(rx, &p, &len) == UDPC_OK && len > 0) {
        if (o->out_len + len > cap) {
            CHECK(!"more output than input");
            return;
        }
        memcpy(o->out + o->out_len, p, len);
        o->out_len += len;
        udpc_receiver_consume_output(rx, len);
    }
}

/* Flips the first payload byte of DATA block `block` of slice 0, the first time it
 * passes; returns whether it did. */
static bool corrupt(uint8_t *dg, size_t len, int block)
{
    udpc_message m;
    if (block < 0 || udpc_message_parse(dg, len, &m) != UDPC_OK || m.opcode != UDPC_OP_DATA ||
        m.slice != 0 || m.block != (uint32_t)block || m.payload_len == 0)
        return false;
    dg[m.payload - dg] ^= 0x5a;
    return true;
}

/* The whole transfer, until the receiver is done (and the sender too, unless the receiver
 * failed): every datagram reaches its peer, the clock jumps to the next deadline when
 * nothing moves. */
static void transfer(const struct setup *s, struct outcome *o)
{
    static uint8_t dg[2048];
    udpc_sender_config sc;
    udpc_receiver_config rc;
    udpc_sender *tx = NULL;
    udpc_receiver *rx = NULL;
    uint32_t tx_addr = ip("10.0.0.1"), rx_addr = ip("10.0.0.2");
    uint64_t now = SECOND;
    size_t n, fed = 0;
    void *tx_mem, *rx_mem;
    bool started = false, ended = false, corrupted = false;
    int step;

    memset(o, 0, sizeof *o);
    o->out = malloc(s->len + 1);

    udpc_sender_config_default(&sc);
    sc.own_address = tx_addr;
    sc.rendezvous = ip("10.0.0.255");
    sc.data_group = ip("234.0.0.1");
    sc.min_receivers = 1;
    n = udpc_sender_mem_size(&sc);
    tx_mem = malloc(n);
    CHECK_EQ(udpc_sender_init(tx_mem, n, &sc, now, &tx), UDPC_OK);
    udpc_receiver_config_default(&rc);
    rc.own_address = rx_addr;
    rc.rendezvous = ip("10.0.0.255");
    rc.keyboard = false;
    rc.verify = s->verify;
    n = udpc_receiver_mem_size(&rc);
    rx_mem = malloc(n);
    CHECK_EQ(udpc_receiver_init(rx_mem, n, &rc, now, &rx), UDPC_OK);
    if (!tx || !rx || !o->out)
        abort();
    if (s->sender_name)
        CHECK_EQ(udpc_sender_set_identity(tx, SESSION, s->sender_name, true, s->len), UDPC_OK);
    if (s->expect_name)
        CHECK_EQ(udpc_receiver_expect_name(rx, s->expect_name), UDPC_OK);

    for (step = 0; step < 100000; step++) {
        bool moved = false;
        size_t len;
        uint32_t to;
        uint16_t port;
        uint64_t deadline, next = 0;
        udpc_sender_event sev;

        if (udpc_receiver_is_closed(rx) &&
            (udpc_sender_is_closed(tx) || !udpc_receiver_is_finished(rx)))
            break;
        while (udpc_sender_poll_transmit(tx, now, dg, sizeof dg, &len, &to, &port) ==
               UDPC_OK) {
            moved = true;
            if (!corrupted)
                corrupted = corrupt(dg, len, s->corrupt_block);
            /* HELLO, CONNECT_REPLY, DATA and REQACK all go to receivers' port P. */
            if (port == PORTBASE)
                udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len);
        }
        while (udpc_receiver_poll_transmit(rx, dg, sizeof dg, &len, &to, &port) == UDPC_OK) {
            udpc_message m;
            moved = true;
            if (!o->connect_req_caps && udpc_message_parse(dg, len, &m) == UDPC_OK &&
                m.opcode == UDPC_OP_CONNECT_REQ)
                o->connect_req_caps = m.capabilities;
            udpc_sender_handle_datagram(tx, now, rx_addr, PORTBASE, dg, len);
        }
        while (udpc_sender_poll_event(tx, &sev) == UDPC_OK)
            if (sev.kind == UDPC_TX_STARTED)
                started = true;
        take_events(rx, o);
        while (started && !ended) {
            uint8_t *room;
            size_t cap;
            if (fed == s->len) {
                udpc_sender_input_end(tx);
                ended = moved = true;
                break;
            }
            if (udpc_sender_input_buffer(tx, &room, &cap) != UDPC_OK || cap == 0)
                break;
            if (cap > s->len - fed)
                cap = s->len - fed;
            memcpy(room, s->input + fed, cap);
            udpc_sender_input_written(tx, cap);
            fed += cap;
            moved = true;
        }
        take_output(rx, o, s->len);
        if (moved)
            continue;
        if (udpc_sender_poll_timeout(tx, now, &deadline) == UDPC_OK)
            next = deadline;
        if (udpc_receiver_poll_timeout(rx, &deadline) == UDPC_OK && (!next || deadline < next))
            next = deadline;
        if (!next)
            break;
        if (next > now)
            now = next;
        udpc_sender_handle_timeout(tx, now);
        udpc_receiver_handle_timeout(rx, now);
    }
    take_events(rx, o);
    take_output(rx, o, s->len);
    CHECK(udpc_receiver_is_closed(rx));
    CHECK(s->corrupt_block < 0 || corrupted);

    o->rx_finished = udpc_receiver_is_finished(rx);
    o->tx_finished = udpc_sender_is_finished(tx);
    o->rx_verifies = udpc_receiver_verifies(rx);
    o->tx_verifies = udpc_sender_verifies(tx);
    o->rx_identity_result = udpc_receiver_identity(rx, &o->rx_identity);
    o->tx_check_result = udpc_sender_stream_check(tx, &o->tx_bytes, &o->tx_crc32c);
    o->late_identity_result = udpc_sender_set_identity(tx, 1, "late", false, 0);
    CHECK_EQ(udpc_receiver_get_stats(rx, &o->stats), UDPC_OK);
    udpc_receiver_deinit(rx);
    udpc_sender_deinit(tx);
    free(rx_mem);
    free(tx_mem);
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len);
    size_t i;
    if (!p)
        abort();
    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 9));
    return p;
}

/* ---------------------------------------------------------------------------------- */

static void test_a_stream_of_ours_is_identified_and_verified(void)
{
    const size_t len = 400000; /* several slices, a short last block */
    uint8_t *input = pattern(len);
    struct setup s = { input, len, "disk.img", "disk.img", true, -1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK_EQ(o.connect_req_caps, 0x40000009u);
    CHECK(saw(&o, UDPC_RX_IDENTIFIED));
    CHECK_EQ(o.identified.session, SESSION);
    CHECK(o.identified.has_total_size);
    CHECK_EQ(o.identified.total_size, len);
    CHECK_EQ(o.rx_identity_result, UDPC_OK);
    CHECK(strcmp(o.rx_identity.name, "disk.img") == 0);
    CHECK_EQ(o.rx_identity.session, SESSION);
    CHECK(o.rx_identity.has_total_size && o.rx_identity.total_size == len);

    CHECK(saw(&o, UDPC_RX_VERIFIED));
    CHECK(saw(&o, UDPC_RX_FINISHED));
    CHECK(!saw(&o, UDPC_RX_FAILED) && !saw(&o, UDPC_RX_NOT_VERIFIED));
    CHECK(!saw(&o, UDPC_RX_SLICE_FAILED_CHECK));
    CHECK_EQ(o.tx_check_result, UDPC_OK);
    CHECK_EQ(o.tx_bytes, len);
    CHECK_EQ(o.verified.stream_bytes, len);
    CHECK_EQ(o.verified.stream_crc32c, o.tx_crc32c);
    CHECK_EQ(o.verified.sender_stream_crc32c, o.tx_crc32c);
    CHECK(o.rx_verifies && o.tx_verifies);
    CHECK(o.rx_finished && o.tx_finished);
    CHECK(o.stats.slices_verified >= 2);
    CHECK_EQ(o.stats.slices_failed, 0);
    CHECK_EQ(o.stats.slices_unchecked, 0);
    CHECK_EQ(o.stats.other_session_messages, 0);
    CHECK_EQ(o.out_len, len);
    CHECK(memcmp(o.out, input, len) == 0);
    /* Once the transfer started the identity is fixed. */
    CHECK_EQ(o.late_identity_result, UDPC_ERR_INVALID);
    free(o.out);
    free(input);
}

static void test_the_stream_digest_is_crc32c(void)
{
    struct setup s = { (const uint8_t *)"123456789", 9, "check", NULL, true, -1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(saw(&o, UDPC_RX_VERIFIED));
    CHECK_EQ(o.verified.stream_bytes, 9);
    CHECK_EQ(o.verified.stream_crc32c, CRC32C_CHECK);
    CHECK_EQ(o.tx_crc32c, CRC32C_CHECK);
    CHECK(o.out_len == 9 && memcmp(o.out, "123456789", 9) == 0);
    free(o.out);
}

static void test_a_corrupted_block_fails_its_slice_which_is_sent_again(void)
{
    const size_t len = 200000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, "disk.img", NULL, true, 1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(saw(&o, UDPC_RX_SLICE_FAILED_CHECK));
    CHECK_EQ(o.slice_failed.failed_slice, 0);
    CHECK_EQ(o.stats.slices_failed, 1);
    CHECK(o.stats.retransmit_requests >= 1);
    CHECK(saw(&o, UDPC_RX_VERIFIED) && o.rx_finished);
    CHECK_EQ(o.out_len, len);
    CHECK(memcmp(o.out, input, len) == 0);
    free(o.out);
    free(input);
}

static void test_another_name_is_refused_before_any_output(void)
{
    const size_t len = 100000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, "disk.img", "other.img", true, -1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(saw(&o, UDPC_RX_IDENTIFIED));
    CHECK(saw(&o, UDPC_RX_FAILED));
    CHECK_EQ(o.failed.error, UDPC_RXERR_WRONG_STREAM);
    CHECK(!o.rx_finished && !saw(&o, UDPC_RX_FINISHED));
    /* What was refused can still be named. */
    CHECK_EQ(o.rx_identity_result, UDPC_OK);
    CHECK(strcmp(o.rx_identity.name, "disk.img") == 0);
    CHECK_EQ(o.out_len, 0);
    CHECK_EQ(o.stats.bytes_output, 0);
    free(o.out);
    free(input);
}

static void test_a_plain_sender_runs_plain_udpcast(void)
{
    const size_t len = 150000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, NULL, NULL, true, -1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(saw(&o, UDPC_RX_NOT_VERIFIED));
    CHECK_EQ(o.not_verified.not_verified, UDPC_NOTVERIFIED_PLAIN_SENDER);
    CHECK(strcmp(udpc_not_verified_reason_str(o.not_verified.not_verified),
                 "the sender does not support verification") == 0);
    CHECK(!saw(&o, UDPC_RX_IDENTIFIED) && !saw(&o, UDPC_RX_VERIFIED));
    CHECK(o.rx_finished && o.tx_finished);
    CHECK(!o.rx_verifies && !o.tx_verifies);
    CHECK_EQ(o.rx_identity_result, UDPC_NOTHING);
    CHECK_EQ(o.tx_check_result, UDPC_NOTHING);
    CHECK_EQ(o.stats.slices_verified, 0);
    CHECK(o.out_len == len && memcmp(o.out, input, len) == 0);
    free(o.out);

    /* Asking for a name of a sender that announces none: refused, nothing written. */
    s.expect_name = "disk.img";
    transfer(&s, &o);
    CHECK(saw(&o, UDPC_RX_FAILED));
    CHECK_EQ(o.failed.error, UDPC_RXERR_WRONG_STREAM);
    CHECK_EQ(o.out_len, 0);
    free(o.out);
    free(input);
}

static void test_a_receiver_with_verification_off_sees_plain_udpcast(void)
{
    const size_t len = 150000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, "disk.img", NULL, false, -1 };
    struct outcome o;

    transfer(&s, &o);
    CHECK_EQ(o.connect_req_caps, 9);
    CHECK(saw(&o, UDPC_RX_NOT_VERIFIED));
    CHECK_EQ(o.not_verified.not_verified, UDPC_NOTVERIFIED_PLAIN_SENDER);
    CHECK(!saw(&o, UDPC_RX_IDENTIFIED) && !saw(&o, UDPC_RX_VERIFIED));
    CHECK(!o.rx_verifies && !o.tx_verifies);
    CHECK(o.rx_finished && o.tx_finished);
    CHECK(o.out_len == len && memcmp(o.out, input, len) == 0);
    free(o.out);
    free(input);
}

/* ---------------------------------------------------------------------------------- */

static void test_arguments_refused(void)
{
    udpc_receiver_config rc;
    udpc_sender_config sc;
    udpc_receiver *rx = NULL;
    udpc_sender *tx = NULL;
    udpc_identity id;
    uint64_t bytes = 7;
    uint32_t crc = 7;
    char name[300];
    void *rx_mem, *tx_mem;
    size_t n;

    CHECK_EQ(udpc_receiver_expect_name(NULL, "x"), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_identity(NULL, &id), UDPC_ERR_NULL);
    CHECK(!udpc_receiver_verifies(NULL));
    CHECK_EQ(udpc_sender_set_identity(NULL, 1, "x", false, 0), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_identity(NULL, &id), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_stream_check(NULL, &bytes, &crc), UDPC_ERR_NULL);
    CHECK(!udpc_sender_verifies(NULL));

    udpc_receiver_config_default(&rc);
    rc.own_address = ip("10.0.0.2");
    rc.rendezvous = ip("10.0.0.255");
    n = udpc_receiver_mem_size(&rc);
    rx_mem = malloc(n);
    CHECK_EQ(udpc_receiver_init(rx_mem, n, &rc, 0, &rx), UDPC_OK);
    udpc_sender_config_default(&sc);
    sc.own_address = ip("10.0.0.1");
    sc.rendezvous = ip("10.0.0.255");
    sc.data_group = ip("234.0.0.1");
    n = udpc_sender_mem_size(&sc);
    tx_mem = malloc(n);
    CHECK_EQ(udpc_sender_init(tx_mem, n, &sc, 0, &tx), UDPC_OK);
    if (!rx || !tx)
        abort();

    /* Names no sender can announce: empty, control characters, over 255 bytes, not
     * UTF-8. */
    CHECK_EQ(udpc_receiver_expect_name(rx, NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_expect_name(rx, ""), UDPC_ERR_INVALID);
    CHECK_EQ(udpc_receiver_expect_name(rx, "a\nb"), UDPC_ERR_INVALID);
    CHECK_EQ(udpc_receiver_expect_name(rx, "\033[2J"), UDPC_ERR_INVALID);
    CHECK_EQ(udpc_receiver_expect_name(rx, "\xff\xfe"), UDPC_ERR_INVALID);
    memset(name, 'a', 256);
    name[256] = 0;
    CHECK_EQ(udpc_receiver_expect_name(rx, name), UDPC_ERR_INVALID);
    CHECK_EQ(udpc_sender_set_identity(tx, 1, name, false, 0), UDPC_ERR_INVALID);
    name[255] = 0;
    CHECK_EQ(udpc_receiver_expect_name(rx, name), UDPC_OK);
    CHECK_EQ(udpc_receiver_expect_name(rx, "d\xc3\xa9j\xc3\xa0 vu"), UDPC_OK);
    CHECK_EQ(udpc_sender_set_identity(tx, 1, NULL, false, 0), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_set_identity(tx, 1, "", false, 0), UDPC_ERR_INVALID);
    CHECK_EQ(udpc_sender_set_identity(tx, 1, "a\tb", false, 0), UDPC_ERR_INVALID);

    /* Nothing known yet. */
    CHECK_EQ(udpc_receiver_identity(rx, NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_identity(rx, &id), UDPC_NOTHING);
    CHECK(!udpc_receiver_verifies(rx));
    CHECK_EQ(udpc_sender_identity(tx, &id), UDPC_NOTHING);

    /* The longest name goes in and comes out whole, NUL-terminated. */
    CHECK_EQ(udpc_sender_set_identity(tx, 42, name, true, 1000), UDPC_OK);
    CHECK_EQ(udpc_sender_identity(tx, NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_identity(tx, &id), UDPC_OK);
    CHECK_EQ(id.session, 42);
    CHECK(id.has_total_size && id.total_size == 1000);
    CHECK_EQ(strlen(id.name), 255);
    CHECK(strcmp(id.name, name) == 0);
    CHECK_EQ(udpc_sender_stream_check(tx, &bytes, &crc), UDPC_NOTHING);
    CHECK(bytes == 7 && crc == 7);
    CHECK_EQ(udpc_sender_stream_check(tx, NULL, NULL), UDPC_NOTHING);
    CHECK(!udpc_sender_verifies(tx));

    /* Every new code has a description of its own. */
    CHECK(strcmp(udpc_receiver_error_str(UDPC_RXERR_WRONG_STREAM),
                 "not the stream expected (--expect-name)") == 0);
    CHECK(strcmp(udpc_receiver_error_str(UDPC_RXERR_STREAM_MISMATCH),
                 udpc_receiver_error_str(UDPC_RXERR_MISSING_STREAM_DIGEST)) != 0);
    CHECK(strcmp(udpc_receiver_error_str(UDPC_RXERR_PASSIVE_REQUIRED + 1),
                 "unknown receiver error") == 0);
    CHECK(strcmp(udpc_not_verified_reason_str(99), "unknown reason") == 0);

    udpc_receiver_deinit(rx);
    udpc_sender_deinit(tx);
    free(rx_mem);
    free(tx_mem);
}

int main(void)
{
    test_a_stream_of_ours_is_identified_and_verified();
    test_the_stream_digest_is_crc32c();
    test_a_corrupted_block_fails_its_slice_which_is_sent_again();
    test_another_name_is_refused_before_any_output();
    test_a_plain_sender_runs_plain_udpcast();
    test_a_receiver_with_verification_off_sees_plain_udpcast();
    test_arguments_refused();
    printf("verification_test: %d checks, %d failures (libudpcast %s)\n", checks, failures,
           udpc_version());
    return failures ? 1 : 0;
}

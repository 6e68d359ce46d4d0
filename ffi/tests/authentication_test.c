/*
 * Authenticated transfers (--key-file) through libudpcast's C API: a sender and a receiver
 * wired together in memory with a fake clock. With the same key material both ends
 * finish with the input intact, also through forged, unauthenticated and replayed
 * datagrams, which the receiver drops and counts; another key, or no key on one side, is
 * refused with a reason on both sides. The settings and buffers the API checks are in
 * auth_settings_test.c.
 *
 * Run with ffi/tests/run-c-tests.sh. Exit status 0 only if every check passed.
 */
#define _DEFAULT_SOURCE

#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "udpcast.h"

#define SECOND 1000000u
#define PORTBASE 9000
#define TX_NONCE 0x1111222233334444ull
#define RX_NONCE 0x5555666677778888ull
#define SENDER_TRAILER 36
#define RECEIVER_TRAILER 44
#define AUTH_BLOCK_SIZE 1420
/* Kinds of udpc_auth_failure, UDPC_AUTH_NONE to UDPC_AUTH_REPLAYED. */
#define AUTH_KINDS 5

static const uint8_t KEY_A[32] = "0123456789abcdef0123456789ABCDE";
static const uint8_t KEY_B[32] = "0123456789abcdef0123456789ABCDx";

struct setup {
    const uint8_t *input;
    size_t len;
    const uint8_t *tx_key; /* NULL: the sender has no key */
    size_t tx_key_len;
    const uint8_t *rx_key; /* NULL: the receiver has no key */
    size_t rx_key_len;
    uint64_t rx_start_timeout_ms;
    bool forge;      /* forge, strip and replay some DATA on the way to the receiver */
    bool scrub_keys; /* overwrite (differently) and free the key buffers right after init */
    uint64_t max_us; /* give up after this much fake time; 0: 600 s */
};

struct outcome {
    uint8_t *out;
    size_t out_len;
    bool rx_closed, rx_finished, tx_finished;
    /* Receiver events. */
    unsigned kinds; /* a bit per receiver event kind seen */
    udpc_receiver_event connected, failed;
    unsigned rx_rejected_events[AUTH_KINDS];
    udpc_receiver_event rx_rejected[AUTH_KINDS]; /* the last of each failure */
    /* Sender events. */
    unsigned tx_connected, tx_rejected_events;
    udpc_sender_event tx_rejected; /* the first */
    /* What went over the wire. */
    unsigned data_datagrams;
    size_t max_data_len, max_rx_len;
    unsigned flipped, stripped, replayed; /* datagrams the harness injected */
    udpc_receiver_stats rx_stats;
    udpc_sender_stats tx_stats;
};

static void take_events(udpc_receiver *rx, struct outcome *o)
{
    udpc_receiver_event ev;
    while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
        o->kinds |= 1u << ev.kind;
        switch (ev.kind) {
        case UDPC_RX_CONNECTED: o->connected = ev; break;
        case UDPC_RX_FAILED: o->failed = ev; break;
        case UDPC_RX_AUTH_REJECTED:
            if (ev.auth_failure < AUTH_KINDS) {
                o->rx_rejected_events[ev.auth_failure]++;
                o->rx_rejected[ev.auth_failure] = ev;
            } else {
                CHECK(!"auth failure out of range");
            }
            break;
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

static uint8_t *copy_key(const uint8_t *key, size_t len)
{
    uint8_t *p;
    if (!key)
        return NULL;
    p = malloc(len);
    if (!p)
        abort();
    memcpy(p, key, len);
    return p;
}

/* A datagram of the sender's on its way to the receiver: delivered, and with s->forge
 * some tampered copies besides. The genuine datagram always arrives, so the output must
 * stay the input. Forged are the 3rd, 7th and 11th DATA (a byte of the payload, the
 * header, the tag flipped), the 5th is also sent without its trailer, the 9th is sent
 * twice more. */
static void deliver(const struct setup *s, struct outcome *o, udpc_receiver *rx, uint64_t now,
                    uint32_t tx_addr, uint8_t *dg, size_t len)
{
    static uint8_t copy[2048];
    udpc_message m;
    unsigned n;
    size_t at = 0;

    if (udpc_message_parse(dg, len, &m) != UDPC_OK || m.opcode != UDPC_OP_DATA) {
        udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len);
        return;
    }
    n = ++o->data_datagrams;
    if (len > o->max_data_len)
        o->max_data_len = len;
    if (s->forge && (n == 3 || n == 7 || n == 11)) {
        memcpy(copy, dg, len);
        switch (n) {
        case 3: at = (size_t)(m.payload - dg) + 10; break; /* payload */
        case 7: at = 5; break;                             /* header (slice number) */
        case 11: at = len - 1; break;                      /* the tag's last byte */
        }
        copy[at] ^= 0x01;
        udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, copy, len);
        o->flipped++;
    }
    udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len);
    if (s->forge && n == 5 && len > SENDER_TRAILER) {
        /* A plain DATA, as an unkeyed sender would send it. */
        udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len - SENDER_TRAILER);
        o->stripped++;
    }
    if (s->forge && n == 9) {
        udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len);
        udpc_receiver_handle_datagram(rx, now, tx_addr, PORTBASE + 1, dg, len);
        o->replayed += 2;
    }
}

/* The whole transfer, until the receiver is done (and the sender too, unless the receiver
 * failed), or s->max_us passed: every datagram reaches its peer, the clock jumps to the
 * next deadline when nothing moves. */
static void transfer(const struct setup *s, struct outcome *o)
{
    static uint8_t dg[2048];
    udpc_sender_config sc;
    udpc_receiver_config rc;
    udpc_sender *tx = NULL;
    udpc_receiver *rx = NULL;
    uint32_t tx_addr = ip("10.0.0.1"), rx_addr = ip("10.0.0.2");
    uint64_t now = SECOND, end = SECOND + (s->max_us ? s->max_us : 600ull * SECOND);
    uint8_t *tx_key = copy_key(s->tx_key, s->tx_key_len);
    uint8_t *rx_key = copy_key(s->rx_key, s->rx_key_len);
    size_t n, fed = 0;
    void *tx_mem, *rx_mem;
    bool started = false, ended = false;
    int step;

    memset(o, 0, sizeof *o);
    o->out = malloc(s->len + 1);

    udpc_sender_config_default(&sc);
    sc.own_address = tx_addr;
    sc.rendezvous = ip("10.0.0.255");
    sc.data_group = ip("234.0.0.1");
    sc.min_receivers = 1;
    sc.key_material = tx_key;
    sc.key_material_len = tx_key ? s->tx_key_len : 0;
    sc.auth_nonce = tx_key ? TX_NONCE : 0;
    n = udpc_sender_mem_size(&sc);
    CHECK(n > 0);
    tx_mem = malloc(n ? n : 1);
    CHECK_EQ(udpc_sender_init(tx_mem, n, &sc, now, &tx), UDPC_OK);
    udpc_receiver_config_default(&rc);
    rc.own_address = rx_addr;
    rc.rendezvous = ip("10.0.0.255");
    rc.keyboard = false;
    rc.start_timeout_ms = s->rx_start_timeout_ms;
    rc.key_material = rx_key;
    rc.key_material_len = rx_key ? s->rx_key_len : 0;
    rc.auth_nonce = rx_key ? RX_NONCE : 0;
    n = udpc_receiver_mem_size(&rc);
    rx_mem = malloc(n);
    CHECK_EQ(udpc_receiver_init(rx_mem, n, &rc, now, &rx), UDPC_OK);
    if (!tx || !rx || !o->out)
        abort();
    if (s->scrub_keys) {
        /* Were the bytes read later, the two ends would now hold different keys (and
         * valgrind would see a read of freed memory). */
        if (tx_key)
            memset(tx_key, 0x00, s->tx_key_len);
        if (rx_key)
            memset(rx_key, 0xff, s->rx_key_len);
        free(tx_key);
        free(rx_key);
        tx_key = rx_key = NULL;
    }

    for (step = 0; step < 100000 && now < end; step++) {
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
            /* HELLO, CONNECT_REPLY, DATA and REQACK all go to receivers' port P. */
            if (port == PORTBASE)
                deliver(s, o, rx, now, tx_addr, dg, len);
        }
        while (udpc_receiver_poll_transmit(rx, dg, sizeof dg, &len, &to, &port) == UDPC_OK) {
            moved = true;
            if (len > o->max_rx_len)
                o->max_rx_len = len;
            udpc_sender_handle_datagram(tx, now, rx_addr, PORTBASE, dg, len);
        }
        while (udpc_sender_poll_event(tx, &sev) == UDPC_OK) {
            switch (sev.kind) {
            case UDPC_TX_STARTED: started = true; break;
            case UDPC_TX_CONNECTED: o->tx_connected++; break;
            case UDPC_TX_AUTH_REJECTED:
                if (!o->tx_rejected_events++)
                    o->tx_rejected = sev;
                break;
            default: break;
            }
        }
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

    o->rx_closed = udpc_receiver_is_closed(rx);
    o->rx_finished = udpc_receiver_is_finished(rx);
    o->tx_finished = udpc_sender_is_finished(tx);
    CHECK_EQ(udpc_receiver_get_stats(rx, &o->rx_stats), UDPC_OK);
    CHECK_EQ(udpc_sender_get_stats(tx, &o->tx_stats), UDPC_OK);
    udpc_receiver_deinit(rx);
    udpc_sender_deinit(tx);
    free(rx_mem);
    free(tx_mem);
    free(tx_key);
    free(rx_key);
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

static bool saw(const struct outcome *o, udpc_receiver_event_kind kind)
{
    return (o->kinds >> kind) & 1u;
}

static unsigned rx_rejected_total(const struct outcome *o)
{
    unsigned i, total = 0;
    for (i = 0; i < AUTH_KINDS; i++)
        total += o->rx_rejected_events[i];
    return total;
}

/* A transfer with the input intact and the receiver finished. */
static void check_intact(const struct outcome *o, const uint8_t *input, size_t len)
{
    CHECK(o->rx_closed && o->rx_finished && o->tx_finished);
    CHECK(saw(o, UDPC_RX_FINISHED));
    CHECK(!saw(o, UDPC_RX_FAILED));
    CHECK_EQ(o->out_len, len);
    CHECK(o->out_len == len && memcmp(o->out, input, len) == 0);
    CHECK_EQ(o->rx_stats.bytes_output, len);
    CHECK_EQ(o->tx_connected, 1);
    /* Blocks shrink so that a sealed DATA is no longer than a plain one of 1456. */
    CHECK_EQ(o->connected.block_size, AUTH_BLOCK_SIZE);
    CHECK_EQ(o->max_data_len, 16 + AUTH_BLOCK_SIZE + SENDER_TRAILER);
    CHECK(o->max_rx_len > RECEIVER_TRAILER && o->max_rx_len <= 140 + RECEIVER_TRAILER);
}

/* ---------------------------------------------------------------------------------- */

static void test_the_same_key_transfers_the_input_intact(void)
{
    const size_t len = 300000; /* several slices, a short last block */
    uint8_t *input = pattern(len);
    struct setup s = { input, len, KEY_A, sizeof KEY_A, KEY_A, sizeof KEY_A, 0,
                       false, false, 0 };
    struct outcome o;

    transfer(&s, &o);
    check_intact(&o, input, len);
    CHECK_EQ(o.rx_stats.auth_rejected, 0);
    CHECK_EQ(o.tx_stats.auth_rejected, 0);
    CHECK(!saw(&o, UDPC_RX_AUTH_REJECTED));
    CHECK_EQ(o.tx_rejected_events, 0);
    CHECK(o.data_datagrams >= (len + AUTH_BLOCK_SIZE - 1) / AUTH_BLOCK_SIZE);
    free(o.out);
    free(input);
}

static void test_the_key_material_is_not_read_after_init(void)
{
    const size_t len = 300000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, KEY_A, sizeof KEY_A, KEY_A, sizeof KEY_A, 0,
                       false, true, 0 };
    struct outcome o;

    transfer(&s, &o);
    check_intact(&o, input, len);
    CHECK_EQ(o.rx_stats.auth_rejected, 0);
    CHECK_EQ(o.tx_stats.auth_rejected, 0);
    free(o.out);
    free(input);
}

static void test_forged_stripped_and_replayed_datagrams_are_dropped(void)
{
    const size_t len = 300000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, KEY_A, sizeof KEY_A, KEY_A, sizeof KEY_A, 0,
                       true, false, 0 };
    struct outcome o;
    unsigned kind;

    transfer(&s, &o);
    check_intact(&o, input, len);
    CHECK_EQ(o.flipped, 3);
    CHECK_EQ(o.stripped, 1);
    CHECK_EQ(o.replayed, 2);
    /* Every injected datagram, and nothing else, was dropped. */
    CHECK_EQ(o.rx_stats.auth_rejected, o.flipped + o.stripped + o.replayed);
    CHECK_EQ(o.tx_stats.auth_rejected, 0);
    CHECK_EQ(o.tx_rejected_events, 0);
    /* One event per kind of failure, naming the sender. */
    CHECK(saw(&o, UDPC_RX_AUTH_REJECTED));
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_BAD_TAG], 1);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_UNAUTHENTICATED], 1);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_REPLAYED], 1);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_OTHER_SESSION], 0);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_NONE], 0);
    CHECK_EQ(rx_rejected_total(&o), 3);
    for (kind = UDPC_AUTH_UNAUTHENTICATED; kind < AUTH_KINDS; kind++) {
        if (kind == UDPC_AUTH_OTHER_SESSION)
            continue;
        CHECK_EQ(o.rx_rejected[kind].kind, UDPC_RX_AUTH_REJECTED);
        CHECK_EQ(o.rx_rejected[kind].sender_address, ip("10.0.0.1"));
        CHECK_EQ(o.rx_rejected[kind].sender_port, PORTBASE + 1);
        CHECK_EQ(o.rx_rejected[kind].error, UDPC_RXERR_NONE);
    }
    free(o.out);
    free(input);
}

static void test_another_key_is_refused_on_both_sides(void)
{
    const size_t len = 100000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, KEY_A, sizeof KEY_A, KEY_B, sizeof KEY_B, 5000,
                       false, false, 0 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(o.rx_closed && !o.rx_finished && !o.tx_finished);
    CHECK(saw(&o, UDPC_RX_FAILED) && !saw(&o, UDPC_RX_FINISHED));
    CHECK(!saw(&o, UDPC_RX_CONNECTED));
    CHECK_EQ(o.failed.error, UDPC_RXERR_NOT_AUTHENTICATED);
    CHECK_EQ(o.failed.auth_failure, UDPC_AUTH_BAD_TAG);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_BAD_TAG], 1);
    CHECK_EQ(rx_rejected_total(&o), 1);
    CHECK_EQ(o.rx_rejected[UDPC_AUTH_BAD_TAG].sender_address, ip("10.0.0.1"));
    CHECK_EQ(o.rx_rejected[UDPC_AUTH_BAD_TAG].sender_port, PORTBASE + 1);
    CHECK(o.rx_stats.auth_rejected >= 1);
    CHECK_EQ(o.out_len, 0);
    CHECK_EQ(o.rx_stats.bytes_output, 0);
    /* The sender saw the receiver's requests as forgeries and admitted nobody. */
    CHECK(o.tx_rejected_events >= 1);
    CHECK_EQ(o.tx_rejected.kind, UDPC_TX_AUTH_REJECTED);
    CHECK_EQ(o.tx_rejected.auth_failure, UDPC_AUTH_BAD_TAG);
    CHECK_EQ(o.tx_rejected.address, ip("10.0.0.2"));
    CHECK_EQ(o.tx_rejected.port, PORTBASE);
    CHECK(o.tx_stats.auth_rejected >= 1);
    CHECK_EQ(o.tx_stats.receivers, 0);
    CHECK_EQ(o.tx_connected, 0);
    CHECK_EQ(o.data_datagrams, 0);
    free(o.out);
    free(input);
}

static void test_a_keyed_sender_refuses_an_unkeyed_receiver(void)
{
    const size_t len = 100000;
    uint8_t *input = pattern(len);
    /* 60 s of fake time, a start timeout of 5 s on the receiver. */
    struct setup s = { input, len, KEY_A, sizeof KEY_A, NULL, 0, 5000,
                       false, false, 60ull * SECOND };
    struct outcome o;

    transfer(&s, &o);
    /* The sender drops every CONNECT_REQ as unauthenticated and admits nobody. */
    CHECK(o.tx_rejected_events >= 1);
    CHECK_EQ(o.tx_rejected.kind, UDPC_TX_AUTH_REJECTED);
    CHECK_EQ(o.tx_rejected.auth_failure, UDPC_AUTH_UNAUTHENTICATED);
    CHECK_EQ(o.tx_rejected.address, ip("10.0.0.2"));
    CHECK_EQ(o.tx_rejected.port, PORTBASE);
    CHECK(o.tx_stats.auth_rejected >= 1); /* the CONNECT_REQ sent before any HELLO */
    CHECK_EQ(o.tx_stats.receivers, 0);
    CHECK_EQ(o.tx_connected, 0);
    CHECK_EQ(o.data_datagrams, 0);
    /* The receiver has no key to check with, so it counts nothing; but the first sealed
     * HELLO tells it that it needs one, and it gives up at once with that reason. */
    CHECK_EQ(o.rx_stats.auth_rejected, 0);
    CHECK(!saw(&o, UDPC_RX_AUTH_REJECTED));
    CHECK(!saw(&o, UDPC_RX_CONNECTED) && !o.rx_finished);
    CHECK_EQ(o.out_len, 0);
    CHECK(o.rx_closed && saw(&o, UDPC_RX_FAILED));
    CHECK_EQ(o.failed.error, UDPC_RXERR_KEY_REQUIRED);
    free(o.out);
    free(input);
}

static void test_a_keyed_receiver_refuses_an_unkeyed_sender(void)
{
    const size_t len = 100000;
    uint8_t *input = pattern(len);
    struct setup s = { input, len, NULL, 0, KEY_A, sizeof KEY_A, 5000, false, false, 0 };
    struct outcome o;

    transfer(&s, &o);
    CHECK(o.rx_closed && !o.rx_finished);
    CHECK(saw(&o, UDPC_RX_FAILED) && !saw(&o, UDPC_RX_CONNECTED));
    CHECK_EQ(o.failed.error, UDPC_RXERR_NOT_AUTHENTICATED);
    CHECK_EQ(o.failed.auth_failure, UDPC_AUTH_UNAUTHENTICATED);
    CHECK_EQ(o.rx_rejected_events[UDPC_AUTH_UNAUTHENTICATED], 1);
    CHECK_EQ(rx_rejected_total(&o), 1);
    CHECK_EQ(o.rx_rejected[UDPC_AUTH_UNAUTHENTICATED].sender_address, ip("10.0.0.1"));
    CHECK_EQ(o.rx_rejected[UDPC_AUTH_UNAUTHENTICATED].sender_port, PORTBASE + 1);
    CHECK(o.rx_stats.auth_rejected >= 1);
    CHECK_EQ(o.out_len, 0);
    CHECK_EQ(o.rx_stats.bytes_output, 0);
    /* An unkeyed sender has nothing to refuse with. */
    CHECK_EQ(o.tx_stats.auth_rejected, 0);
    CHECK_EQ(o.tx_rejected_events, 0);
    free(o.out);
    free(input);
}

int main(void)
{
    test_the_same_key_transfers_the_input_intact();
    test_the_key_material_is_not_read_after_init();
    test_forged_stripped_and_replayed_datagrams_are_dropped();
    test_another_key_is_refused_on_both_sides();
    test_a_keyed_sender_refuses_an_unkeyed_receiver();
    test_a_keyed_receiver_refuses_an_unkeyed_sender();
    printf("authentication_test: %d checks, %d failures (libudpcast %s)\n", checks, failures,
           udpc_version());
    return failures ? 1 : 0;
}

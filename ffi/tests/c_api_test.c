/*
 * Tests of libudpcast's C API from C: FEC against the worked example of PROTOCOL.md §5.4,
 * wire parse/encode of captured datagrams (§2), error codes for null pointers and small
 * buffers, a scripted receiver session with a fake clock, and a sender smoke test.
 *
 * Run with ffi/tests/run-c-tests.sh (builds against target/debug/libudpcast.a and runs
 * under valgrind). Exit status 0 only if every check passed.
 */
#define _DEFAULT_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "udpcast.h"

/* ---------------------------------------------------------------- FEC (§5.4) ---- */

static void test_fec(void)
{
    static const uint8_t d[4][4] = {
        { 0x01, 0x02, 0x03, 0x04 },
        { 0x10, 0x20, 0x30, 0x40 },
        { 0xff, 0x00, 0xaa, 0x55 },
        { 0x00, 0x00, 0x00, 0x01 },
    };
    static const uint8_t want[2][4] = { { 0x39, 0x64, 0xaf, 0x27 }, { 0x3d, 0xef, 0x65, 0xd5 } };
    uint8_t row0[4], row1[4], cols[4][4];
    const uint8_t *data[4] = { d[0], d[1], d[2], d[3] };
    size_t lens[4] = { 4, 4, 4, 4 };
    uint8_t *rows[2] = { row0, row1 };
    uint8_t *colp[4] = { cols[0], cols[1], cols[2], cols[3] };
    bool present[4] = { true, false, true, false };
    uint8_t fec_rows[2] = { 0, 1 };
    size_t recovered = 99;
    int j;

    CHECK_EQ(udpc_fec_encode_stripe(4, data, lens, 4, rows, 2), UDPC_OK);
    CHECK(memcmp(row0, want[0], 4) == 0);
    CHECK(memcmp(row1, want[1], 4) == 0);

    /* Erase columns 1 and 3 and rebuild them from the two FEC rows. */
    memcpy(cols, d, sizeof cols);
    memset(cols[1], 0xee, 4);
    memset(cols[3], 0x77, 4);
    CHECK_EQ(udpc_fec_decode_stripe(4, colp, lens, present, 4, rows, fec_rows, 2, &recovered),
             UDPC_OK);
    CHECK_EQ(recovered, 2);
    for (j = 0; j < 4; j++)
        CHECK(memcmp(cols[j], d[j], 4) == 0);

    /* Three erasures, two rows: refused, nothing changed. */
    {
        bool p3[4] = { true, false, false, false };
        uint8_t r0[4], r1[4], *rr[2] = { r0, r1 };
        memcpy(r0, want[0], 4);
        memcpy(r1, want[1], 4);
        memcpy(cols, d, sizeof cols);
        memset(cols[1], 0, 4);
        memset(cols[2], 0, 4);
        memset(cols[3], 0, 4);
        CHECK_EQ(udpc_fec_decode_stripe(4, colp, lens, p3, 4, rr, fec_rows, 2, &recovered),
                 UDPC_ERR_FEC);
        CHECK(memcmp(cols[0], d[0], 4) == 0);
        CHECK(cols[1][0] == 0 && cols[2][0] == 0 && cols[3][3] == 0);
    }

    /* Rows 2..: a short block counts as zero-padded. */
    {
        uint8_t r2[4], full[4] = { 0x01, 0x02, 0x00, 0x00 };
        const uint8_t *shortp[1] = { d[0] }, *fullp[1] = { full };
        size_t l2[1] = { 2 }, l4[1] = { 4 };
        uint8_t a[4], b[4], *ra[1] = { a }, *rb[1] = { b };
        (void)r2;
        CHECK_EQ(udpc_fec_encode_stripe(4, shortp, l2, 1, ra, 1), UDPC_OK);
        CHECK_EQ(udpc_fec_encode_stripe(4, fullp, l4, 1, rb, 1), UDPC_OK);
        CHECK(memcmp(a, b, 4) == 0);
    }

    /* Argument errors. */
    CHECK_EQ(udpc_fec_encode_stripe(4, NULL, lens, 4, rows, 2), UDPC_ERR_NULL);
    CHECK_EQ(udpc_fec_encode_stripe(4, data, lens, 4, NULL, 2), UDPC_ERR_NULL);
    {
        size_t too_long[4] = { 4, 5, 4, 4 };
        CHECK(udpc_fec_encode_stripe(4, data, too_long, 4, rows, 2) != UDPC_OK);
    }
    CHECK(udpc_fec_encode_stripe(4, data, lens, 4, rows, 129) != UDPC_OK);
}

/* ---------------------------------------------------------------- wire (§2) ----- */

static const uint8_t hello_02[28] = {
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0xea, 0x42, 0x00, 0x01, 0x0d, 0x00,
    0x00, 0x00, 0xe8, 0xc2, 0xc7, 0xf6, 0xb4, 0x55, 0x00, 0x00, 0x05, 0xb0, 0xc7, 0xf6,
};

static void test_wire(void)
{
    udpc_message m;
    uint8_t buf[2048];
    size_t n = 0;
    int i;

    /* HELLO of 02_multicast_2rx #1. */
    CHECK_EQ(udpc_message_parse(hello_02, sizeof hello_02, &m), UDPC_OK);
    CHECK_EQ(m.opcode, UDPC_OP_HELLO);
    CHECK_EQ(m.capabilities, 9);
    CHECK_EQ(m.address, ip("234.66.0.1"));
    CHECK_EQ(m.block_size, 1456);
    memset(buf, 0xaa, sizeof buf);
    CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
    CHECK_EQ(n, 28);
    CHECK(memcmp(buf, hello_02, 12) == 0);
    for (i = 12; i < 24; i++)
        CHECK_EQ(buf[i], 0);
    CHECK(buf[24] == 0x05 && buf[25] == 0xb0);
    CHECK(buf[26] == 0 && buf[27] == 0);
    /* A buffer one byte short. */
    CHECK_EQ(udpc_message_encode(&m, buf, 27, &n), UDPC_ERR_BUFFER_TOO_SMALL);

    /* HELLO_STREAMING of capture 06 (async caps 0x29). */
    {
        uint8_t hs[28];
        memcpy(hs, hello_02, sizeof hs);
        hs[0] = 0x00;
        hs[1] = 0x0b;
        hs[7] = 0x29;
        CHECK_EQ(udpc_message_parse(hs, sizeof hs, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_HELLO_STREAMING);
        CHECK_EQ(m.capabilities, 0x29);
    }

    /* CONNECT_REQ of 02_multicast_2rx #2: re-encodes byte for byte. */
    {
        static const uint8_t req[12] = { 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
                                         0x00, 0x09, 0x00, 0x03, 0x40, 0x00 };
        CHECK_EQ(udpc_message_parse(req, sizeof req, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_CONNECT_REQ);
        CHECK_EQ(m.capabilities, 9);
        CHECK_EQ(m.receive_buffer, 212992);
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
        CHECK_EQ(n, 12);
        CHECK(memcmp(buf, req, 12) == 0);
    }

    /* CONNECT_REPLY of 02_multicast_2rx #7, and a refusal. */
    {
        static const uint8_t rep[32] = {
            0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x05,
            0xb0, 0x00, 0x00, 0x00, 0x09, 0xea, 0x42, 0x00, 0x01, 0x00, 0x00,
            0x00, 0x00, 0x60, 0xfc, 0xae, 0xca, 0x73, 0x7f, 0x00, 0x00,
        };
        uint8_t refused[32];
        CHECK_EQ(udpc_message_parse(rep, sizeof rep, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_CONNECT_REPLY);
        CHECK_EQ(m.client_number, 1);
        CHECK_EQ(m.block_size, 1456);
        CHECK_EQ(m.capabilities, 9);
        CHECK_EQ(m.address, ip("234.66.0.1"));
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
        CHECK_EQ(n, 32);
        CHECK(memcmp(buf, rep, 20) == 0);
        for (i = 20; i < 32; i++)
            CHECK_EQ(buf[i], 0);
        memcpy(refused, rep, sizeof refused);
        memset(refused + 4, 0xff, 4);
        CHECK_EQ(udpc_message_parse(refused, sizeof refused, &m), UDPC_OK);
        CHECK_EQ(m.client_number, -1);
        m.client_number = 1024; /* not on the wire */
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_ERR_INVALID);
    }

    /* End-of-transfer REQACK of 02_multicast_2rx #85; bitmap points into the datagram. */
    {
        uint8_t rq[144];
        memset(rq, 0, sizeof rq);
        rq[1] = 0x06;
        rq[7] = 0x02;
        CHECK_EQ(udpc_message_parse(rq, sizeof rq, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_REQACK);
        CHECK_EQ(m.slice, 2);
        CHECK_EQ(m.bytes, 0);
        CHECK_EQ(m.rxmit, 0);
        CHECK(m.bitmap == rq + 16);
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
        CHECK_EQ(n, 144);
        CHECK(memcmp(buf, rq, 144) == 0);
    }

    /* RETRANSMIT of 09_fullduplex_2rx_loss5 #131. */
    {
        static const uint8_t map[14] = { 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf,
                                         0xff, 0x7b, 0xbf, 0xff, 0xff, 0xff, 0xff };
        uint8_t rt[140];
        memset(rt, 0, sizeof rt);
        rt[1] = 0x01;
        memcpy(rt + 12, map, sizeof map);
        CHECK_EQ(udpc_message_parse(rt, sizeof rt, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_RETRANSMIT);
        CHECK_EQ(m.slice, 0);
        CHECK_EQ(m.rxmit, 0);
        CHECK(m.bitmap == rt + 12);
        CHECK(m.bitmap && m.bitmap[0] == 0xfb && m.bitmap[6] == 0xdf && m.bitmap[13] == 0xff);
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
        CHECK_EQ(n, 140);
        CHECK(memcmp(buf, rt, 140) == 0);
    }

    /* GO, DISCONNECT, OK. */
    {
        static const uint8_t go[4] = { 0, 2, 0, 0 }, ok[8] = { 0, 0, 0, 0, 0, 0, 0, 7 };
        CHECK_EQ(udpc_message_parse(go, 4, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_GO);
        CHECK_EQ(udpc_message_parse(ok, 8, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_OK);
        CHECK_EQ(m.slice, 7);
    }

    /* DATA: payload points into the datagram. */
    {
        /* slice 3, block 4, slice bytes 0x1005 (§2.6 layout) */
        uint8_t dg[16 + 5] = { 0, 8, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0x10, 0x05,
                               'h', 'e', 'l', 'l', 'o' };
        CHECK_EQ(udpc_message_parse(dg, sizeof dg, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_DATA);
        CHECK_EQ(m.slice, 3);
        CHECK_EQ(m.bytes, 0x1005);
        CHECK_EQ(m.block, 4);
        CHECK_EQ(m.payload_len, 5);
        CHECK(m.payload == dg + 16);
        CHECK_EQ(udpc_message_encode(&m, buf, sizeof buf, &n), UDPC_OK);
        CHECK_EQ(n, sizeof dg);
        CHECK(memcmp(buf, dg, sizeof dg) == 0);
        CHECK_EQ(udpc_message_encode(&m, buf, 20, &n), UDPC_ERR_BUFFER_TOO_SMALL);
    }

    /* Malformed input. */
    {
        static const uint8_t junk[3] = { 0x05, 0x00, 0x00 }, badop[4] = { 0x12, 0x34, 0, 0 };
        CHECK_EQ(udpc_message_parse(junk, sizeof junk, &m), UDPC_ERR_PARSE);
        CHECK_EQ(udpc_message_parse(badop, sizeof badop, &m), UDPC_ERR_PARSE);
        CHECK_EQ(udpc_message_parse(hello_02, 20, &m), UDPC_ERR_PARSE);
        CHECK_EQ(udpc_message_parse(junk, 0, &m), UDPC_ERR_PARSE);
    }
}

/* ------------------------------------------------- null pointers, small buffers ---- */

static void test_errors(void)
{
    udpc_receiver_config rc;
    udpc_sender_config sc;
    udpc_message m;
    udpc_receiver *rx = NULL;
    uint8_t small[16] = { 0 };
    size_t n;
    void *mem;

    CHECK_EQ(udpc_receiver_config_default(NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_config_default(NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_mem_size(NULL), 0);
    CHECK_EQ(udpc_sender_mem_size(NULL), 0);
    CHECK_EQ(udpc_message_parse(NULL, 28, &m), UDPC_ERR_NULL);
    CHECK_EQ(udpc_message_parse(hello_02, 28, NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_message_encode(NULL, small, sizeof small, &n), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_handle_datagram(NULL, 0, 0, 9001, hello_02, 28), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_handle_timeout(NULL, 0), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_handle_key(NULL, 0), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_abort(NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_poll_event(NULL, NULL), UDPC_ERR_NULL);
    CHECK_EQ(udpc_sender_handle_timeout(NULL, 0), UDPC_ERR_NULL);
    CHECK(!udpc_receiver_is_closed(NULL));
    CHECK(!udpc_receiver_is_finished(NULL));
    CHECK(!udpc_sender_is_closed(NULL));
    CHECK(!udpc_sender_is_finished(NULL));
    udpc_receiver_deinit(NULL);
    udpc_sender_deinit(NULL);
    CHECK(udpc_result_str(UDPC_ERR_NULL) != NULL && udpc_result_str(12345) != NULL);
    CHECK(udpc_receiver_error_str(UDPC_RXERR_NO_SENDER) != NULL);
    CHECK(udpc_receiver_error_str(0xffffffffu) != NULL);
    CHECK(strcmp(udpc_result_str(UDPC_OK), udpc_result_str(UDPC_ERR_NULL)) != 0);

    {
        char want[32];
        snprintf(want, sizeof want, "%d.%d.%d", UDPC_VERSION_MAJOR, UDPC_VERSION_MINOR,
                 UDPC_VERSION_PATCH);
        CHECK(strcmp(udpc_version(), want) == 0);
    }

    /* Receiver: memory one byte short, null config/out, small transmit buffer. */
    CHECK_EQ(udpc_receiver_config_default(&rc), UDPC_OK);
    CHECK_EQ(rc.portbase, 9000);
    CHECK_EQ(rc.exit_wait_ms, 500);
    CHECK(rc.verify);
    n = udpc_receiver_mem_size(&rc);
    CHECK(n > 0);
    mem = malloc(n);
    CHECK(mem != NULL);
    CHECK_EQ(udpc_receiver_init(mem, n - 1, &rc, 0, &rx), UDPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(udpc_receiver_init(NULL, n, &rc, 0, &rx), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_init(mem, n, NULL, 0, &rx), UDPC_ERR_NULL);
    CHECK_EQ(udpc_receiver_init(mem, n, &rc, 0, NULL), UDPC_ERR_NULL);
    rc.own_address = ip("10.0.0.2");
    rc.rendezvous = ip("10.0.0.255");
    CHECK_EQ(udpc_receiver_init(mem, n, &rc, 0, &rx), UDPC_OK);
    if (rx) {
        uint32_t to;
        uint16_t port;
        udpc_receiver_event ev;
        CHECK_EQ(udpc_receiver_poll_transmit(rx, small, sizeof small, &n, &to, &port),
                 UDPC_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(udpc_receiver_poll_transmit(rx, NULL, 140, &n, &to, &port), UDPC_ERR_NULL);
        CHECK_EQ(udpc_receiver_poll_event(rx, NULL), UDPC_ERR_NULL);
        CHECK_EQ(udpc_receiver_handle_datagram(rx, 0, 0, 9001, NULL, 28), UDPC_ERR_NULL);
        /* Garbage is counted, not fatal. */
        CHECK_EQ(udpc_receiver_handle_datagram(rx, 1, ip("10.0.0.9"), 9001, small, 3),
                 UDPC_OK);
        CHECK_EQ(udpc_receiver_poll_event(rx, &ev), UDPC_NOTHING);
        udpc_receiver_deinit(rx);
    }
    free(mem);

    CHECK_EQ(udpc_sender_config_default(&sc), UDPC_OK);
    CHECK_EQ(sc.portbase, 9000);
}

/* ------------------------------------------------ scripted receiver session ------- */

#define SENDER "10.0.0.1"
#define BLOCK 1024u
#define SLICE_BYTES 3000u

static size_t encode(const udpc_message *m, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    CHECK_EQ(udpc_message_encode(m, buf, cap, &n), UDPC_OK);
    return n;
}

/* Pops one transmit; returns its length (0 if none) and parses it into *m. */
static size_t pop_tx(udpc_receiver *rx, uint8_t *buf, udpc_message *m, uint32_t *to,
                     uint16_t *port)
{
    size_t n = 0;
    udpc_result r = udpc_receiver_poll_transmit(rx, buf, 140, &n, to, port);
    if (r != UDPC_OK)
        return 0;
    CHECK_EQ(udpc_message_parse(buf, n, m), UDPC_OK);
    return n;
}

static void drain_output(udpc_receiver *rx, uint8_t *out, size_t *have, size_t cap)
{
    for (;;) {
        const uint8_t *p = NULL;
        size_t len = 99;
        udpc_result r = udpc_receiver_output(rx, &p, &len);
        /* UDPC_NOTHING with len 0 when nothing is pending. */
        CHECK(r == UDPC_OK || (r == UDPC_NOTHING && len == 0));
        if (r != UDPC_OK || len == 0)
            return;
        if (*have + len > cap) {
            CHECK(!"output overflow");
            return;
        }
        /* Consume in two steps to exercise partial writes. */
        if (len > 1) {
            memcpy(out + *have, p, len / 2);
            *have += len / 2;
            CHECK_EQ(udpc_receiver_consume_output(rx, len / 2), UDPC_OK);
            continue;
        }
        memcpy(out + *have, p, len);
        *have += len;
        CHECK_EQ(udpc_receiver_consume_output(rx, len), UDPC_OK);
    }
}

static void test_receiver_session(void)
{
    udpc_receiver_config cfg;
    udpc_receiver *rx = NULL;
    udpc_receiver_event ev;
    udpc_message m, tx;
    uint8_t dg[2048], txbuf[140], payload[SLICE_BYTES], out[SLICE_BYTES + 16];
    uint32_t to = 0, sender = ip(SENDER);
    uint16_t port = 0;
    uint64_t now = 1000000, deadline = 0;
    size_t n, have = 0, i;
    void *mem;
    int kinds_seen = 0, finished = 0, guard;

    for (i = 0; i < SLICE_BYTES; i++)
        payload[i] = (uint8_t)(i * 7 + 3);

    udpc_receiver_config_default(&cfg);
    cfg.own_address = ip("10.0.0.2");
    cfg.rendezvous = ip("10.0.0.255");
    cfg.keyboard = false;
    cfg.receive_buffer = 212992;
    n = udpc_receiver_mem_size(&cfg);
    mem = malloc(n);
    CHECK_EQ(udpc_receiver_init(mem, n, &cfg, now, &rx), UDPC_OK);
    if (!rx) {
        free(mem);
        return;
    }

    /* 1. The first transmit is a CONNECT_REQ to the rendezvous address, port P+1. */
    CHECK(pop_tx(rx, txbuf, &tx, &to, &port) == 12);
    CHECK_EQ(tx.opcode, UDPC_OP_CONNECT_REQ);
    /* udpcast's 0x09 and bit 30, the verified-transfers extension (on by default). */
    CHECK_EQ(tx.capabilities, 0x40000009u);
    CHECK_EQ(tx.receive_buffer, 212992);
    CHECK_EQ(to, ip("10.0.0.255"));
    CHECK_EQ(port, 9001);
    CHECK_EQ(udpc_receiver_poll_timeout(rx, &deadline), UDPC_OK);
    CHECK(deadline > now);

    /* 2. CONNECT_REPLY: client 5, multicast data group. */
    memset(&m, 0, sizeof m);
    m.opcode = UDPC_OP_CONNECT_REPLY;
    m.client_number = 5;
    m.block_size = BLOCK;
    m.capabilities = 9;
    m.address = ip("234.0.0.1");
    n = encode(&m, dg, sizeof dg);
    now += 1000;
    CHECK_EQ(udpc_receiver_handle_datagram(rx, now, sender, 9001, dg, n), UDPC_OK);
    CHECK_EQ(udpc_receiver_poll_event(rx, &ev), UDPC_OK);
    CHECK_EQ(ev.kind, UDPC_RX_CONNECTED);
    CHECK_EQ(ev.client_number, 5);
    CHECK_EQ(ev.sender_address, sender);
    CHECK_EQ(ev.sender_port, 9001);
    CHECK_EQ(ev.join_group, ip("234.0.0.1"));
    CHECK_EQ(ev.block_size, BLOCK);
    CHECK(!ev.passive && !ev.streaming && !ev.waits_for_key);
    /* The reply lacks bit 30: a udpcast sender, so no end-to-end check. */
    CHECK_EQ(udpc_receiver_poll_event(rx, &ev), UDPC_OK);
    CHECK_EQ(ev.kind, UDPC_RX_NOT_VERIFIED);
    CHECK_EQ(ev.not_verified, UDPC_NOTVERIFIED_PLAIN_SENDER);
    CHECK(!udpc_receiver_verifies(rx));
    CHECK_EQ(udpc_receiver_poll_event(rx, &ev), UDPC_NOTHING);
    CHECK(!udpc_receiver_is_closed(rx));

    /* 3. DATA of slice 0 (3 blocks, the last one short), out of order, one duplicate,
     * and a rogue datagram from another host. */
    {
        static const uint16_t order[4] = { 2, 0, 0, 1 };
        for (i = 0; i < 4; i++) {
            uint16_t b = order[i];
            size_t off = (size_t)b * BLOCK;
            memset(&m, 0, sizeof m);
            m.opcode = UDPC_OP_DATA;
            m.slice = 0;
            m.bytes = SLICE_BYTES;
            m.block = b;
            m.payload = payload + off;
            m.payload_len = SLICE_BYTES - off < BLOCK ? SLICE_BYTES - off : BLOCK;
            n = encode(&m, dg, sizeof dg);
            now += 100;
            CHECK_EQ(udpc_receiver_handle_datagram(rx, now, sender, 9001, dg, n), UDPC_OK);
            if (i == 0) {
                uint8_t rogue[sizeof dg];
                memcpy(rogue, dg, n);
                memset(rogue + 16, 0x55, n - 16);
                CHECK_EQ(udpc_receiver_handle_datagram(rx, now, ip("10.0.0.66"), 9001, rogue,
                                                       n),
                         UDPC_OK);
            }
        }
    }
    CHECK_EQ(udpc_receiver_poll_event(rx, &ev), UDPC_OK);
    CHECK_EQ(ev.kind, UDPC_RX_STARTED);
    /* DATA never triggers an answer. */
    CHECK(pop_tx(rx, txbuf, &tx, &to, &port) == 0);

    /* 4. REQACK(slice 0) → OK(0) to the sender. */
    memset(&m, 0, sizeof m);
    m.opcode = UDPC_OP_REQACK;
    m.slice = 0;
    m.bytes = SLICE_BYTES;
    n = encode(&m, dg, sizeof dg);
    now += 1000;
    CHECK_EQ(udpc_receiver_handle_datagram(rx, now, sender, 9001, dg, n), UDPC_OK);
    CHECK(pop_tx(rx, txbuf, &tx, &to, &port) == 8);
    CHECK_EQ(tx.opcode, UDPC_OP_OK);
    CHECK_EQ(tx.slice, 0);
    CHECK_EQ(to, sender);
    CHECK_EQ(port, 9001);
    drain_output(rx, out, &have, sizeof out);
    CHECK_EQ(have, SLICE_BYTES);

    /* 5. REQACK(slice 1, bytes 0): the end of the stream → OK(1). */
    memset(&m, 0, sizeof m);
    m.opcode = UDPC_OP_REQACK;
    m.slice = 1;
    m.bytes = 0;
    n = encode(&m, dg, sizeof dg);
    now += 1000;
    CHECK_EQ(udpc_receiver_handle_datagram(rx, now, sender, 9001, dg, n), UDPC_OK);
    CHECK(pop_tx(rx, txbuf, &tx, &to, &port) == 8);
    CHECK_EQ(tx.opcode, UDPC_OP_OK);
    CHECK_EQ(tx.slice, 1);
    drain_output(rx, out, &have, sizeof out);

    /* 6. Exit-wait: run the clock to each deadline until FINISHED; DISCONNECT follows. */
    for (guard = 0; guard < 100 && !udpc_receiver_is_closed(rx); guard++) {
        while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
            kinds_seen |= 1 << ev.kind;
            if (ev.kind == UDPC_RX_FINISHED)
                finished = 1;
        }
        drain_output(rx, out, &have, sizeof out);
        if (udpc_receiver_poll_timeout(rx, &deadline) != UDPC_OK)
            break;
        CHECK(deadline >= now);
        if (deadline > now)
            now = deadline;
        CHECK_EQ(udpc_receiver_handle_timeout(rx, now), UDPC_OK);
    }
    while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
        kinds_seen |= 1 << ev.kind;
        if (ev.kind == UDPC_RX_FINISHED)
            finished = 1;
    }
    CHECK(finished);
    CHECK(!(kinds_seen & (1 << UDPC_RX_FAILED)));
    CHECK(udpc_receiver_is_closed(rx));
    CHECK(udpc_receiver_is_finished(rx));
    {
        int disconnect = 0;
        while (pop_tx(rx, txbuf, &tx, &to, &port) > 0)
            if (tx.opcode == UDPC_OP_DISCONNECT && to == sender && port == 9001)
                disconnect = 1;
        CHECK(disconnect);
    }
    drain_output(rx, out, &have, sizeof out);
    CHECK_EQ(have, SLICE_BYTES);
    CHECK(memcmp(out, payload, SLICE_BYTES) == 0);
    {
        udpc_receiver_stats st;
        CHECK_EQ(udpc_receiver_get_stats(rx, &st), UDPC_OK);
        CHECK_EQ(st.bytes_output, SLICE_BYTES);
        CHECK_EQ(st.data_blocks, 3);
        CHECK(st.rogue_datagrams >= 1);
    }
    udpc_receiver_deinit(rx);
    free(mem);
}

/* A receiver that never hears a sender fails with NO_SENDER at its start timeout. */
static void test_receiver_no_sender(void)
{
    udpc_receiver_config cfg;
    udpc_receiver *rx = NULL;
    udpc_receiver_event ev;
    uint64_t now = 5, deadline;
    size_t n;
    void *mem;
    int failed = 0, guard;

    udpc_receiver_config_default(&cfg);
    cfg.own_address = ip("10.0.0.2");
    cfg.rendezvous = ip("10.0.0.255");
    cfg.start_timeout_ms = 2000;
    cfg.slice_storage = 4 * 64 * 1456; /* a smaller store works too */
    n = udpc_receiver_mem_size(&cfg);
    mem = malloc(n);
    CHECK_EQ(udpc_receiver_init(mem, n, &cfg, now, &rx), UDPC_OK);
    if (!rx) {
        free(mem);
        return;
    }
    for (guard = 0; guard < 100 && !udpc_receiver_is_closed(rx); guard++) {
        uint8_t buf[140];
        size_t len;
        uint32_t to;
        uint16_t port;
        while (udpc_receiver_poll_transmit(rx, buf, sizeof buf, &len, &to, &port) == UDPC_OK)
            CHECK(len == 12 && buf[1] == 3);
        if (udpc_receiver_poll_timeout(rx, &deadline) != UDPC_OK)
            break;
        now = deadline > now ? deadline : now;
        udpc_receiver_handle_timeout(rx, now);
        while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK)
            if (ev.kind == UDPC_RX_FAILED && ev.error == UDPC_RXERR_NO_SENDER)
                failed = 1;
    }
    CHECK(failed);
    CHECK(now >= 5 + 2000000 && now <= 5 + 3000000);
    CHECK(udpc_receiver_is_closed(rx));
    CHECK(!udpc_receiver_is_finished(rx));
    udpc_receiver_deinit(rx);
    free(mem);
}

/* ---------------------------------------------------------------- sender ----------- */

static void test_sender_smoke(void)
{
    udpc_sender_config cfg;
    udpc_sender *tx = NULL;
    udpc_message m;
    uint8_t *buf;
    size_t n, len = 0, room = 0;
    uint32_t to = 0;
    uint16_t port = 0;
    void *mem;

    CHECK_EQ(udpc_sender_config_default(&cfg), UDPC_OK);
    cfg.own_address = ip("10.0.0.1");
    cfg.rendezvous = ip("10.0.0.255");
    cfg.data_group = ip("234.0.0.1");
    n = udpc_sender_mem_size(&cfg);
    CHECK(n > 0);
    mem = malloc(n);
    buf = malloc(16u + cfg.block_size);
    CHECK_EQ(udpc_sender_init(mem, n - 1, &cfg, 1000, &tx), UDPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(udpc_sender_init(mem, n, &cfg, 1000, &tx), UDPC_OK);
    if (tx) {
        CHECK_EQ(udpc_sender_max_datagram_len(tx, NULL), UDPC_ERR_NULL);
        CHECK_EQ(udpc_sender_max_datagram_len(tx, &room), UDPC_OK);
        CHECK_EQ(room, 16u + cfg.block_size);
        /* A buffer one byte short is refused, and the HELLO stays due. */
        CHECK_EQ(udpc_sender_poll_transmit(tx, 1000, buf, room - 1, &len, &to, &port),
                 UDPC_ERR_BUFFER_TOO_SMALL);
        CHECK_EQ(udpc_sender_poll_transmit(tx, 1000, buf, room, &len, &to, &port), UDPC_OK);
        CHECK_EQ(len, 28);
        CHECK(buf[0] == 0x05 && buf[1] == 0x00);
        CHECK_EQ(to, ip("10.0.0.255"));
        CHECK_EQ(port, 9000);
        CHECK_EQ(udpc_message_parse(buf, len, &m), UDPC_OK);
        CHECK_EQ(m.opcode, UDPC_OP_HELLO);
        CHECK_EQ(m.address, ip("234.0.0.1"));
        CHECK_EQ(m.block_size, cfg.block_size);
        CHECK(!udpc_sender_is_closed(tx));
        udpc_sender_deinit(tx);
    }
    free(buf);
    free(mem);
}

int main(void)
{
    test_fec();
    test_wire();
    test_errors();
    test_receiver_session();
    test_receiver_no_sender();
    test_sender_smoke();
    printf("c_api_test: %d checks, %d failures (libudpcast %s)\n", checks, failures,
           udpc_version());
    return failures ? 1 : 0;
}

/*
 * What libudpcast's C API checks of authenticated transfers (--key-file) before and
 * around a session: key material and nonces refused with the reason, --encrypt without a
 * key, the trailers on the first datagrams and the buffers they need, and the texts of
 * the new results. The keyed transfers themselves are in authentication_test.c.
 *
 * Run with ffi/tests/run-c-tests.sh. Exit status 0 only if every check passed.
 */
#define _DEFAULT_SOURCE

#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "udpcast.h"

#define TX_NONCE 0x1111222233334444ull
#define RX_NONCE 0x5555666677778888ull
#define SENDER_TRAILER 36
#define RECEIVER_TRAILER 44
#define AUTH_BLOCK_SIZE 1420
/* Kinds of udpc_auth_failure, UDPC_AUTH_NONE to UDPC_AUTH_REPLAYED. */
#define AUTH_KINDS 5

static const uint8_t KEY_A[32] = "0123456789abcdef0123456789ABCDE";

static void receiver_config(udpc_receiver_config *rc, const uint8_t *key, size_t len,
                            uint64_t nonce)
{
    udpc_receiver_config_default(rc);
    rc->own_address = ip("10.0.0.2");
    rc->rendezvous = ip("10.0.0.255");
    rc->key_material = key;
    rc->key_material_len = len;
    rc->auth_nonce = nonce;
}

static void sender_config(udpc_sender_config *sc, const uint8_t *key, size_t len,
                          uint64_t nonce)
{
    udpc_sender_config_default(sc);
    sc->own_address = ip("10.0.0.1");
    sc->rendezvous = ip("10.0.0.255");
    sc->data_group = ip("234.0.0.1");
    sc->key_material = key;
    sc->key_material_len = len;
    sc->auth_nonce = nonce;
}

/* What udpc_receiver_init returns for this key material and nonce; whether it wrote a
 * handle goes to *made. */
static udpc_result try_receiver(const uint8_t *key, size_t len, uint64_t nonce, bool *made)
{
    udpc_receiver_config rc;
    udpc_receiver *rx = NULL;
    udpc_result r;
    size_t n;
    void *mem;

    receiver_config(&rc, key, len, nonce);
    n = udpc_receiver_mem_size(&rc);
    mem = malloc(n);
    if (!mem)
        abort();
    r = udpc_receiver_init(mem, n, &rc, 0, &rx);
    *made = rx != NULL;
    udpc_receiver_deinit(rx);
    free(mem);
    return r;
}

/* The same for udpc_sender_init (given the memory an unkeyed sender needs, since
 * udpc_sender_mem_size refuses such configurations); udpc_sender_mem_size's answer goes
 * to *mem_size. */
static udpc_result try_sender(const uint8_t *key, size_t len, uint64_t nonce, bool *made,
                              size_t *mem_size)
{
    udpc_sender_config sc;
    udpc_sender *tx = NULL;
    udpc_result r;
    size_t n;
    void *mem;

    sender_config(&sc, NULL, 0, 0);
    n = udpc_sender_mem_size(&sc);
    mem = malloc(n);
    if (!mem)
        abort();
    sender_config(&sc, key, len, nonce);
    *mem_size = udpc_sender_mem_size(&sc);
    r = udpc_sender_init(mem, n, &sc, 0, &tx);
    *made = tx != NULL;
    udpc_sender_deinit(tx);
    free(mem);
    return r;
}

static void test_key_settings_refused(void)
{
    udpc_receiver_config rc;
    udpc_sender_config sc;
    bool made;
    size_t mem_size;

    /* By default no key. */
    udpc_receiver_config_default(&rc);
    CHECK(rc.key_material == NULL && rc.key_material_len == 0 && rc.auth_nonce == 0);
    udpc_sender_config_default(&sc);
    CHECK(sc.key_material == NULL && sc.key_material_len == 0 && sc.auth_nonce == 0);

    /* 15 bytes are too few, 16 enough. */
    CHECK_EQ(try_receiver(KEY_A, 15, RX_NONCE, &made), UDPC_ERR_KEY_TOO_SHORT);
    CHECK(!made);
    CHECK_EQ(try_receiver(KEY_A, 16, RX_NONCE, &made), UDPC_OK);
    CHECK(made);
    CHECK_EQ(try_sender(KEY_A, 15, TX_NONCE, &made, &mem_size), UDPC_ERR_KEY_TOO_SHORT);
    CHECK(!made);
    CHECK_EQ(mem_size, 0);
    CHECK_EQ(try_sender(KEY_A, 16, TX_NONCE, &made, &mem_size), UDPC_OK);
    CHECK(made);
    CHECK(mem_size > 0);
    CHECK_EQ(try_sender(KEY_A, 0, TX_NONCE, &made, &mem_size), UDPC_ERR_KEY_TOO_SHORT);

    /* A key needs a nonce: 0 names the first-contact session. */
    CHECK_EQ(try_receiver(KEY_A, sizeof KEY_A, 0, &made), UDPC_ERR_INVALID);
    CHECK(!made);
    CHECK_EQ(try_sender(KEY_A, sizeof KEY_A, 0, &made, &mem_size), UDPC_ERR_INVALID);
    CHECK(!made);
    CHECK_EQ(mem_size, 0);

    /* Bytes announced at a null pointer. */
    CHECK_EQ(try_receiver(NULL, 32, RX_NONCE, &made), UDPC_ERR_NULL);
    CHECK(!made);
    CHECK_EQ(try_sender(NULL, 32, TX_NONCE, &made, &mem_size), UDPC_ERR_NULL);
    CHECK(!made);
    CHECK_EQ(mem_size, 0);

    /* No key at all: the nonce is not looked at. */
    CHECK_EQ(try_receiver(NULL, 0, RX_NONCE, &made), UDPC_OK);
    CHECK(made);
    CHECK_EQ(try_sender(NULL, 0, TX_NONCE, &made, &mem_size), UDPC_OK);
    CHECK(made);
}

/* The first datagram a fresh receiver (a CONNECT_REQ) or sender (a HELLO) sends, into
 * buf of buf_len bytes: the result, its length in *len. */
static udpc_result first_from_receiver(const uint8_t *key, size_t key_len, uint8_t *buf,
                                       size_t buf_len, size_t *len, udpc_result *then)
{
    udpc_receiver_config rc;
    udpc_receiver *rx = NULL;
    udpc_result r;
    uint32_t to;
    uint16_t port;
    size_t n;
    void *mem;

    receiver_config(&rc, key, key_len, key ? RX_NONCE : 0);
    n = udpc_receiver_mem_size(&rc);
    mem = malloc(n);
    if (!mem)
        abort();
    CHECK_EQ(udpc_receiver_init(mem, n, &rc, 0, &rx), UDPC_OK);
    if (!rx)
        abort();
    *len = 0;
    r = udpc_receiver_poll_transmit(rx, buf, buf_len, len, &to, &port);
    /* What a buffer of 184 bytes gets afterwards: a refusal loses nothing. */
    if (then) {
        uint8_t big[184];
        size_t big_len = 0;
        *then = udpc_receiver_poll_transmit(rx, big, sizeof big, &big_len, &to, &port);
        if (*then == UDPC_OK)
            *len = big_len;
    }
    udpc_receiver_deinit(rx);
    free(mem);
    return r;
}

static udpc_result first_from_sender(const uint8_t *key, size_t key_len, uint8_t *buf,
                                     size_t buf_len, size_t *len)
{
    udpc_sender_config sc;
    udpc_sender *tx = NULL;
    udpc_result r;
    uint32_t to;
    uint16_t port;
    size_t n;
    void *mem;

    sender_config(&sc, key, key_len, key ? TX_NONCE : 0);
    n = udpc_sender_mem_size(&sc);
    mem = malloc(n);
    if (!mem)
        abort();
    CHECK_EQ(udpc_sender_init(mem, n, &sc, 0, &tx), UDPC_OK);
    if (!tx)
        abort();
    *len = 0;
    r = udpc_sender_poll_transmit(tx, 0, buf, buf_len, len, &to, &port);
    udpc_sender_deinit(tx);
    free(mem);
    return r;
}

/* encrypt (--encrypt) enciphers blocks with the session's key: without a key the sender
 * refuses it; with one, a DATA datagram's trailer says "UCE1". */
static void test_encrypt_needs_a_key(void)
{
    udpc_sender_config sc;
    udpc_sender *tx = NULL;
    size_t n;
    void *mem;

    sender_config(&sc, NULL, 0, 0);
    CHECK(!sc.encrypt);
    n = udpc_sender_mem_size(&sc);
    mem = malloc(n);
    if (!mem)
        abort();
    sc.encrypt = true;
    CHECK_EQ(udpc_sender_init(mem, n, &sc, 0, &tx), UDPC_ERR_INVALID);
    CHECK(tx == NULL);
    sender_config(&sc, KEY_A, sizeof KEY_A, TX_NONCE);
    sc.encrypt = true;
    CHECK_EQ(udpc_sender_init(mem, n, &sc, 0, &tx), UDPC_OK);
    udpc_sender_deinit(tx);
    free(mem);
}

static void test_datagrams_carry_the_trailers(void)
{
    uint8_t buf[2048];
    size_t plain_len, len;
    udpc_result then;
    udpc_message m;

    /* Unkeyed, 140 bytes suffice. */
    CHECK_EQ(first_from_receiver(NULL, 0, buf, 140, &plain_len, NULL), UDPC_OK);
    CHECK(plain_len > 0 && plain_len <= 140);
    CHECK_EQ(udpc_message_parse(buf, plain_len, &m), UDPC_OK);
    CHECK_EQ(m.opcode, UDPC_OP_CONNECT_REQ);
    /* Keyed, 184 are needed; a smaller buffer keeps the datagram for the next call. */
    CHECK_EQ(first_from_receiver(KEY_A, sizeof KEY_A, buf, 140, &len, &then),
             UDPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(then, UDPC_OK);
    CHECK_EQ(len, plain_len + RECEIVER_TRAILER);
    CHECK_EQ(first_from_receiver(KEY_A, sizeof KEY_A, buf, 183, &len, NULL),
             UDPC_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(first_from_receiver(KEY_A, sizeof KEY_A, buf, 184, &len, NULL), UDPC_OK);
    CHECK_EQ(len, plain_len + RECEIVER_TRAILER);
    CHECK(len >= plain_len + 4 && memcmp(buf + plain_len, "UCA1", 4) == 0);
    CHECK_EQ(udpc_message_parse(buf, plain_len, &m), UDPC_OK);
    CHECK_EQ(m.opcode, UDPC_OP_CONNECT_REQ);

    /* A sender's HELLO: 36 bytes more with a key. */
    CHECK_EQ(first_from_sender(NULL, 0, buf, sizeof buf, &plain_len), UDPC_OK);
    CHECK(plain_len > 0);
    CHECK_EQ(udpc_message_parse(buf, plain_len, &m), UDPC_OK);
    CHECK_EQ(m.opcode, UDPC_OP_HELLO);
    CHECK_EQ(first_from_sender(KEY_A, sizeof KEY_A, buf, sizeof buf, &len), UDPC_OK);
    CHECK_EQ(len, plain_len + SENDER_TRAILER);
    CHECK(len >= plain_len + 4 && memcmp(buf + plain_len, "UCA1", 4) == 0);
    /* The buffer the header promises a keyed sender: 16 + block size + 36 = 1472, what
     * an unkeyed one of 1456-byte blocks needs. */
    CHECK_EQ(first_from_sender(KEY_A, sizeof KEY_A, buf, 16 + AUTH_BLOCK_SIZE + 36, &len),
             UDPC_OK);
    CHECK_EQ(len, plain_len + SENDER_TRAILER);
}

static void test_texts(void)
{
    unsigned i, j;

    for (i = 0; i < AUTH_KINDS; i++) {
        CHECK(udpc_auth_failure_str(i) != NULL && udpc_auth_failure_str(i)[0] != 0);
        CHECK(strcmp(udpc_auth_failure_str(i), "unknown authentication failure") != 0);
        for (j = 0; j < i; j++)
            CHECK(strcmp(udpc_auth_failure_str(i), udpc_auth_failure_str(j)) != 0);
    }
    CHECK(strcmp(udpc_auth_failure_str(UDPC_AUTH_BAD_TAG),
                 "forged, or sealed with another key") == 0);
    CHECK(strcmp(udpc_auth_failure_str(5), "unknown authentication failure") == 0);
    CHECK(strcmp(udpc_auth_failure_str(0xffffffffu), "unknown authentication failure") == 0);
    CHECK(strcmp(udpc_result_str(UDPC_ERR_KEY_TOO_SHORT),
                 "key material shorter than 16 bytes") == 0);
    CHECK(strcmp(udpc_receiver_error_str(UDPC_RXERR_NOT_AUTHENTICATED),
                 "no authenticated sender before the start timeout") == 0);
}

int main(void)
{
    test_key_settings_refused();
    test_datagrams_carry_the_trailers();
    test_encrypt_needs_a_key();
    test_texts();
    printf("auth_settings_test: %d checks, %d failures (libudpcast %s)\n", checks, failures,
           udpc_version());
    return failures ? 1 : 0;
}

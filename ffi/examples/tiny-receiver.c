/*
 * tiny-receiver: a minimal udpcast receiver for boot images, built on libudpcast.
 *
 * The program owns the sockets, the clock and the output file; every protocol decision is
 * made by the library (sans-IO). Options are udp-receiver's, with the same long names,
 * aliases and short letters; long options also take `--name=value`, short ones `-P9000`
 * and bundles (`-kd`), as getopt_long accepts them (see `usage` below). Boot images pass
 * them through from a kernel parameter, so anything unknown or malformed is refused.
 *
 * Output: stdout, or --file (a file or a block device such as /dev/sda), fsynced at the
 * end unless --nosync. On success one line `Transfer complete: N bytes in S s (R MB/s)`
 * (MB = 10^6 bytes, timed from the first byte written); on failure the reason and
 * `tiny-receiver: N bytes written; the output is INCOMPLETE`.
 *
 * A sender of udpcast-rs announces the stream (`Stream "NAME", N bytes, session S`) and
 * the library checks every slice and the whole stream (`verified: N bytes, crc32c C`);
 * with a udpcast sender it says `not verified: ...` once (doc/verified-transfers.md).
 *
 * --key-file PATH: authenticated transfers with a sender given the same file (README,
 * "Authenticated transfers"); datagrams that fail are dropped (`dropped datagrams from
 * ADDR: why`, once per kind) and an unauthenticated sender is refused.
 *
 * Exit status: 0 when the whole stream was written (and verified, from a sender of ours),
 * 255 when no sender answered before the start timeout, 1 for any other failure (also a
 * stream that fails verification, or not the one --expect-name wants) and usage errors.
 *
 * Build: ffi/build-tiny-receiver.sh (static, musl, stripped).
 */
#define _DEFAULT_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "udpcast.h"

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031 /* Linux's number; headers define it for _GNU_SOURCE only */
#endif

/* Memory for the receiver with the default configuration (checked at start-up). It lives
 * in .bss, so it costs nothing in the binary. */
#define MEM_SIZE (6u << 20)
static unsigned char mem[MEM_SIZE] __attribute__((aligned(64)));

/* Sockets: unicast (sends everything), broadcast, the multicast rendezvous group, and the
 * data group once connected (PROTOCOL.md §1.5). */
enum { S_UCAST, S_BCAST, S_RDV, S_DATA, S_COUNT };
static int socks[S_COUNT] = { -1, -1, -1, -1 };

static udpc_receiver_config cfg;
static const char *out_path, *ifname, *expect_name, *key_path;
static int out_fd = -1, keyboard = 1, nosync, osync, ttl, rcvbuf;
static uint32_t rdv; /* --mcast-rdv-address, network byte order; 0 = not given */
static uint64_t written, t0; /* bytes written; when the first was (else: connection) */
static int receiving;        /* set once the receiver exists: failures leave output unfinished */

static const char usage[] =
    "usage: tiny-receiver [--file PATH] [--interface NAME|ADDR] [--portbase N]\n"
    "         [--mcast-rdv-address ADDR] [--ttl N] [--rcvbuf N[k|m]] [--exit-wait MS]\n"
    "         [--start-timeout S] [--receive-timeout S] [--nokbd] [--passive]\n"
    "         [--ignore-lost-data] [--sync] [--nosync] [--expect-name NAME]\n"
    "         [--key-file PATH] [--help] [--version]\n";

/* Every failure ends here: the reason and, once receiving, how much of the output exists. */
static void quit(const char *what, int err, int status)
{
    fprintf(stderr, "tiny-receiver: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
    if (receiving)
        fprintf(stderr, "tiny-receiver: %llu bytes written; the output is INCOMPLETE\n",
                (unsigned long long)written);
    exit(status);
}

static void die(const char *what)
{
    quit(what, errno, 1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- Options ---------------------------------------------------------------------- */

enum { A_NONE, A_STR, A_NUM, A_SIZE, A_ADDR }; /* what an option takes */
enum { OP_FILE, OP_IF, OP_PORT, OP_NOKBD, OP_STO, OP_RTO, OP_RDV, OP_WAIT, OP_RCVBUF, OP_PASSIVE,
       OP_LOST, OP_TTL, OP_NOSYNC, OP_SYNC, OP_EXPECT, OP_KEY, OP_HELP, OP_VERSION };

static const struct opt {
    const char *name;
    char letter, id, arg, min; /* numbers: min..max */
    unsigned long max;
} options[] = {
    { "file", 'f', OP_FILE, A_STR, 0, 0 },
    { "interface", 'i', OP_IF, A_STR, 0, 0 },
    { "portbase", 'P', OP_PORT, A_NUM, 1, 65534 },
    { "port", 0, OP_PORT, A_NUM, 1, 65534 },
    { "nokbd", 'k', OP_NOKBD, A_NONE, 0, 0 },
    { "start-timeout", 's', OP_STO, A_NUM, 0, 0xffffffffu },
    { "receive-timeout", 0, OP_RTO, A_NUM, 0, 0xffffffffu },
    { "mcast-rdv-address", 'M', OP_RDV, A_ADDR, 0, 0 },
    { "mcast-all-address", 0, OP_RDV, A_ADDR, 0, 0 },
    { "exit-wait", 'w', OP_WAIT, A_NUM, 0, 0xffffffffu },
    { "exitWait", 0, OP_WAIT, A_NUM, 0, 0xffffffffu },
    { "rcvbuf", 'b', OP_RCVBUF, A_SIZE, 1, 0x7fffffff },
    { "passive", 'd', OP_PASSIVE, A_NONE, 0, 0 },
    { "ignore-lost-data", 'Z', OP_LOST, A_NONE, 0, 0 },
    { "ttl", 't', OP_TTL, A_NUM, 1, 255 },
    { "nosync", 'n', OP_NOSYNC, A_NONE, 0, 0 },
    { "sync", 'y', OP_SYNC, A_NONE, 0, 0 },
    { "expect-name", 0, OP_EXPECT, A_STR, 0, 0 },
    { "key-file", 0, OP_KEY, A_STR, 0, 0 },
    { "help", 0, OP_HELP, A_NONE, 0, 0 },
    { "version", 0, OP_VERSION, A_NONE, 0, 0 },
};
#define OPTIONS_END (options + sizeof options / sizeof options[0])

/* The option being parsed, as typed (`dash` + `len` bytes of `name`), for messages. */
static const char *opt_dash, *opt_name;
static int opt_len;

static void usage_error(const char *why, const char *value)
{
    fprintf(stderr, "tiny-receiver: %s %s%.*s%s%s\n%s", why, opt_dash, opt_len, opt_name,
            value ? ": " : "", value ? value : "", usage);
    exit(1);
}

/* A decimal number in min..max; with `size`, a k or m suffix multiplies by 1024 or 1024². */
static unsigned long number(const char *s, const struct opt *o)
{
    unsigned long v = 0, scale = 1;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (o->max - (unsigned long)(*p - '0')) / 10)
            usage_error("bad value for", s);
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (o->arg == A_SIZE && (*p == 'k' || *p == 'K' || *p == 'm' || *p == 'M'))
        scale = (*p++ | 0x20) == 'k' ? 1024 : 1024 * 1024;
    if (p == s || *p || v > o->max / scale || v * scale < (unsigned long)o->min)
        usage_error("bad value for", s);
    return v * scale;
}

/* Applies option `o`; `value` is what followed `=` or the letter, else NULL. */
static void take(const struct opt *o, const char *value, int *i, int argc, char **argv)
{
    unsigned long n = 0;
    struct in_addr a = { 0 };
    if (o->arg == A_NONE && value)
        usage_error("no value allowed for", NULL);
    if (o->arg != A_NONE && !value) {
        if (*i + 1 >= argc)
            usage_error("missing value for", NULL);
        value = argv[++*i];
    }
    if ((o->arg == A_STR && !*value) ||
        (o->arg == A_ADDR && (!inet_aton(value, &a) || a.s_addr == 0)))
        usage_error("bad value for", value);
    if (o->arg == A_NUM || o->arg == A_SIZE)
        n = number(value, o);
    switch (o->id) {
    case OP_FILE: out_path = value; break;
    case OP_IF: ifname = value; break;
    case OP_PORT: cfg.portbase = (uint16_t)n; break;
    case OP_NOKBD: keyboard = 0; break;
    case OP_STO: cfg.start_timeout_ms = 1000u * (uint64_t)n; break;
    case OP_RTO: cfg.receive_timeout_ms = 1000u * (uint64_t)n; break;
    case OP_RDV: rdv = a.s_addr; break;
    case OP_WAIT: cfg.exit_wait_ms = n; break;
    case OP_RCVBUF: rcvbuf = (int)n; break;
    case OP_PASSIVE: cfg.passive = 1; break;
    case OP_LOST: cfg.ignore_lost_data = 1; break;
    case OP_TTL: ttl = (int)n; break;
    case OP_NOSYNC: nosync = 1; break;
    case OP_SYNC: osync = 1; break;
    case OP_EXPECT: expect_name = value; break;
    case OP_KEY: key_path = value; break;
    case OP_HELP: fputs(usage, stdout); exit(0);
    default: printf("tiny-receiver (libudpcast %s)\n", udpc_version()); exit(0);
    }
}

static void parse_options(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i], *p;
        const struct opt *o;
        if (arg[0] != '-' || arg[1] == '\0') {
            opt_dash = "";
            opt_name = arg;
            opt_len = (int)strlen(arg);
            usage_error("unexpected argument", NULL);
        }
        if (arg[1] == '-') { /* --name or --name=value */
            opt_dash = "--";
            opt_name = arg + 2;
            opt_len = (int)strcspn(opt_name, "=");
            for (o = options; o < OPTIONS_END; o++)
                if (!strncmp(o->name, opt_name, (size_t)opt_len) && !o->name[opt_len])
                    break;
            if (o == OPTIONS_END)
                usage_error("unknown option", NULL);
            take(o, opt_name[opt_len] ? opt_name + opt_len + 1 : NULL, &i, argc, argv);
            continue;
        }
        for (p = arg + 1; *p; p++) { /* -k, -kd, -P9000, -P 9000 */
            opt_dash = "-";
            opt_name = p;
            opt_len = 1;
            for (o = options; o < OPTIONS_END && o->letter != *p; o++)
                ;
            if (o == OPTIONS_END)
                usage_error("unknown option", NULL);
            if (o->arg != A_NONE) {
                take(o, p[1] ? p + 1 : NULL, &i, argc, argv);
                break;
            }
            take(o, NULL, &i, argc, argv);
        }
    }
}

/* ---- Network and output ------------------------------------------------------------ */

/* Chooses the interface: the one named (or with the address given), else the first up,
 * non-loopback IPv4 interface that has a broadcast address. */
static void pick_interface(const char *want, uint32_t *own, uint32_t *bcast,
                           unsigned *ifindex)
{
    struct ifaddrs *list, *i;
    int found = 0;
    if (getifaddrs(&list) != 0)
        die("getifaddrs");
    for (i = list; i && !found; i = i->ifa_next) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(void *)i->ifa_addr;
        const struct sockaddr_in *b =
            (const struct sockaddr_in *)(void *)i->ifa_broadaddr;
        if (!a || a->sin_family != AF_INET)
            continue;
        if (want) {
            struct in_addr w;
            if (strcmp(i->ifa_name, want) != 0 &&
                !(inet_aton(want, &w) && w.s_addr == a->sin_addr.s_addr))
                continue;
        } else if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
                   !(i->ifa_flags & IFF_BROADCAST) || !b || b->sin_addr.s_addr == 0) {
            continue;
        }
        *own = a->sin_addr.s_addr;
        *bcast = ((i->ifa_flags & IFF_BROADCAST) && b) ? b->sin_addr.s_addr : 0;
        /* A loopback interface has no broadcast address: use its own address. */
        if (*bcast == 0)
            *bcast = *own;
        *ifindex = if_nametoindex(i->ifa_name);
        found = 1;
    }
    freeifaddrs(list);
    if (!found)
        quit("no suitable network interface found", 0, 1);
}

static int is_multicast(uint32_t addr)
{
    return (ntohl(addr) >> 28) == 14;
}

static void set_option(int fd, int level, int name, const void *v, socklen_t len,
                       const char *what)
{
    if (setsockopt(fd, level, name, v, len) != 0)
        die(what);
}

/* A socket bound to addr:port, with --rcvbuf's size: every socket may carry data. */
static int bound_socket(uint32_t addr, uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    if (rcvbuf)
        set_option(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf, "SO_RCVBUF");
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = addr;
    sa.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("bind");
    return fd;
}

/* A socket bound to group:port that joined the group on our interface. */
static int joined_socket(uint32_t group, uint16_t port, unsigned ifindex)
{
    struct ip_mreqn m;
    int fd = bound_socket(group, port);
    memset(&m, 0, sizeof m);
    m.imr_multiaddr.s_addr = group;
    m.imr_ifindex = (int)ifindex;
    set_option(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m, "IP_ADD_MEMBERSHIP");
    return fd;
}

static void open_output(void)
{
    if (out_fd >= 0)
        return;
    if (!out_path) {
        struct stat st;
        out_fd = STDOUT_FILENO;
        /* A pipe into a decompressor: this loop stops receiving while write() blocks, so
         * let the pipe hold seconds of data rather than 64 KiB (root may exceed
         * pipe-max-size; others get what it allows). */
        if (fstat(out_fd, &st) == 0 && S_ISFIFO(st.st_mode) &&
            fcntl(out_fd, F_SETPIPE_SZ, 8 << 20) < 0)
            (void)fcntl(out_fd, F_SETPIPE_SZ, 1 << 20);
        return;
    }
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | (osync ? O_SYNC : 0), 0644);
    if (out_fd < 0)
        die(out_path);
}

/* Writes what the library has ready. Returns 0, or -1 after a write error. */
static int write_output(udpc_receiver *rx)
{
    for (;;) {
        const uint8_t *p;
        size_t len;
        ssize_t n;
        if (udpc_receiver_output(rx, &p, &len) != UDPC_OK || len == 0)
            return 0;
        open_output();
        n = write(out_fd, p, len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n == 0)
                errno = EIO;
            return -1;
        }
        if (written == 0)
            t0 = now_us();
        written += (uint64_t)n;
        udpc_receiver_consume_output(rx, (size_t)n);
    }
}

static void send_pending(udpc_receiver *rx)
{
    uint8_t buf[256];
    size_t len;
    uint32_t to;
    uint16_t port;
    while (udpc_receiver_poll_transmit(rx, buf, sizeof buf, &len, &to, &port) == UDPC_OK) {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = to;
        sa.sin_port = htons(port);
        /* A lost datagram is the protocol's business: the library repeats as needed. */
        (void)sendto(socks[S_UCAST], buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
    }
}

/* ---- Verified transfers ------------------------------------------------------------ */

static udpc_identity ident; /* the stream, once a sender of ours announced it */
static int identified;
static udpc_receiver_event verified, failure; /* UDPC_RX_VERIFIED and _FAILED, if any */

/* Says what the library learnt about the stream and its checks. */
static void verification_event(udpc_receiver *rx, const udpc_receiver_event *ev)
{
    switch (ev->kind) {
    case UDPC_RX_IDENTIFIED:
        if (udpc_receiver_identity(rx, &ident) != UDPC_OK)
            break;
        identified = 1;
        fprintf(stderr, "Stream \"%s\"", ident.name);
        if (ident.has_total_size)
            fprintf(stderr, ", %llu bytes", (unsigned long long)ident.total_size);
        fprintf(stderr, ", session %016llx\n", (unsigned long long)ident.session);
        break;
    case UDPC_RX_NOT_VERIFIED:
        fprintf(stderr, "not verified: %s\n", udpc_not_verified_reason_str(ev->not_verified));
        break;
    case UDPC_RX_SLICE_FAILED_CHECK:
        fprintf(stderr, "tiny-receiver: slice %lu failed its checksum and is asked for again\n",
                (unsigned long)ev->failed_slice);
        break;
    case UDPC_RX_VERIFIED:
        verified = *ev;
        break;
    case UDPC_RX_AUTH_REJECTED: {
        struct in_addr a;
        a.s_addr = ev->sender_address;
        fprintf(stderr, "tiny-receiver: dropped datagrams from %s:%u: %s\n", inet_ntoa(a),
                ev->sender_port, udpc_auth_failure_str(ev->auth_failure));
        break;
    }
    default:
        break;
    }
}

/* --key-file: the file's bytes become the key (the library derives it and checks the
 * length); the nonce that binds the sender's answer to this run comes from the kernel. */
static void load_key(void)
{
    static uint8_t material[65536 + 1]; /* one more: a file that fills it is too large */
    size_t len = 0;
    ssize_t n = 0;
    int fd = open(key_path, O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && len < sizeof material) {
        n = read(fd, material + len, sizeof material - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    if (fd < 0 || n < 0) {
        fprintf(stderr, "tiny-receiver: cannot read key file %s: %s\n", key_path,
                strerror(errno));
        exit(1);
    }
    close(fd);
    if (len == sizeof material) {
        fprintf(stderr, "tiny-receiver: key file %s is larger than %u bytes\n", key_path,
                (unsigned)sizeof material - 1);
        exit(1);
    }
    do {
        if (getentropy(&cfg.auth_nonce, sizeof cfg.auth_nonce) != 0)
            die("getentropy");
    } while (cfg.auth_nonce == 0);
    cfg.key_material = material;
    cfg.key_material_len = len;
}

/* Why the transfer failed, in words; the stream's name and digests when they matter. */
static const char *failure_text(const udpc_receiver_event *ev, char *buf, size_t len)
{
    if (ev->error == UDPC_RXERR_WRONG_STREAM) {
        snprintf(buf, len, "%s%s%s is not the stream expected (--expect-name %.255s)",
                 identified ? "stream \"" : "a stream without a name (udpcast sender)",
                 identified ? ident.name : "", identified ? "\"" : "",
                 expect_name ? expect_name : ""); /* set: only --expect-name refuses */
        return buf;
    }
    if (ev->error == UDPC_RXERR_STREAM_MISMATCH) {
        snprintf(buf, len,
                 "verification FAILED: wrote %llu bytes with crc32c %08lx, the sender sent "
                 "%llu bytes with crc32c %08lx",
                 (unsigned long long)ev->stream_bytes, (unsigned long)ev->stream_crc32c,
                 (unsigned long long)ev->sender_stream_bytes,
                 (unsigned long)ev->sender_stream_crc32c);
        return buf;
    }
    if (ev->error == UDPC_RXERR_NOT_AUTHENTICATED) {
        snprintf(buf, len, "%s: the sender's datagrams were %s", udpc_receiver_error_str(ev->error),
                 udpc_auth_failure_str(ev->auth_failure));
        return buf;
    }
    return udpc_receiver_error_str(ev->error != UDPC_RXERR_NONE ? ev->error
                                                                : UDPC_RXERR_DROPPED);
}

int main(int argc, char **argv)
{
    static uint8_t dgram[65536];
    static char reason[640];
    udpc_receiver *rx;
    uint32_t own = 0, bcast = 0;
    unsigned ifindex = 0;
    int key_armed = 0, i, one = 1, got = 0, write_failed = 0, want_output = 0;
    socklen_t optlen = sizeof got;

    udpc_receiver_config_default(&cfg);
    parse_options(argc, argv);
    if (key_path)
        load_key();
    if (udpc_receiver_mem_size(&cfg) > sizeof mem)
        quit("static memory too small for this libudpcast", 0, 1);

    pick_interface(ifname, &own, &bcast, &ifindex);
    /* Rendezvous (PROTOCOL.md §1.3): as given, else the broadcast address, but 224.0.0.1
     * when a TTL above 1 asks to reach beyond the LAN, as the sender computes it too. */
    cfg.rendezvous = rdv ? rdv : ttl > 1 ? htonl(0xe0000001u) : bcast;
    socks[S_UCAST] = bound_socket(own, cfg.portbase);
    set_option(socks[S_UCAST], SOL_SOCKET, SO_BROADCAST, &one, sizeof one, "SO_BROADCAST");
    if (ttl) {
        set_option(socks[S_UCAST], IPPROTO_IP, IP_TTL, &ttl, sizeof ttl, "IP_TTL");
        set_option(socks[S_UCAST], IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl,
                   "IP_MULTICAST_TTL");
    }
    if (bcast != own)
        socks[S_BCAST] = bound_socket(bcast, cfg.portbase);
    if (is_multicast(cfg.rendezvous)) {
        /* CONNECT_REQ leaves through our interface; HELLOs arrive on the group. */
        struct ip_mreqn m;
        memset(&m, 0, sizeof m);
        m.imr_ifindex = (int)ifindex;
        set_option(socks[S_UCAST], IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m,
                   "IP_MULTICAST_IF");
        socks[S_RDV] = joined_socket(cfg.rendezvous, cfg.portbase, ifindex);
    }
    /* CONNECT_REQ reports the buffer the kernel really gives (Linux doubles a request). */
    if (getsockopt(socks[S_UCAST], SOL_SOCKET, SO_RCVBUF, &got, &optlen) == 0)
        cfg.receive_buffer = (uint32_t)got;

    cfg.own_address = own;
    cfg.keyboard = keyboard;
    {
        udpc_result r = udpc_receiver_init(mem, sizeof mem, &cfg, now_us(), &rx);
        if (r == UDPC_ERR_KEY_TOO_SHORT) {
            fprintf(stderr, "tiny-receiver: key file %s: %s\n", key_path, udpc_result_str(r));
            exit(1);
        }
        if (r != UDPC_OK)
            quit("cannot create the receiver", 0, 1);
    }
    /* Which names a sender may announce is the library's rule, so it judges the value. */
    if (expect_name && udpc_receiver_expect_name(rx, expect_name) != UDPC_OK) {
        fprintf(stderr, "tiny-receiver: bad value for --expect-name: %s\n%s", expect_name,
                usage);
        exit(1);
    }
    receiving = 1;
    {
        struct in_addr a;
        a.s_addr = own;
        fprintf(stderr, "tiny-receiver (libudpcast %s) for %s at %s\n", udpc_version(),
                out_path ? out_path : "(stdout)", inet_ntoa(a));
    }

    while (!udpc_receiver_is_closed(rx)) {
        struct pollfd pfd[S_COUNT + 1];
        int map[S_COUNT + 1], nfd = 0, timeout_ms = -1;
        uint64_t deadline, now;
        udpc_receiver_event ev;

        send_pending(rx);
        while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
            if (ev.kind == UDPC_RX_CONNECTED) {
                struct in_addr a;
                a.s_addr = ev.sender_address;
                fprintf(stderr, "Connected as #%u to %s\n", ev.client_number, inet_ntoa(a));
                if (ev.join_group != 0 && socks[S_DATA] < 0)
                    socks[S_DATA] = joined_socket(ev.join_group, cfg.portbase, ifindex);
                want_output = 1;
                t0 = now_us();
                /* stdin is watched only from now on: a key (or EOF) before the
                 * connection would be lost. */
                if (ev.waits_for_key && keyboard) {
                    key_armed = 1;
                    fprintf(stderr, "Press any key to start receiving data!\n");
                }
            } else if (ev.kind == UDPC_RX_STARTED) {
                key_armed = 0;
            } else if (ev.kind == UDPC_RX_FAILED) {
                failure = ev;
            } else {
                verification_event(rx, &ev);
            }
        }
        /* Opened once the connection's events are read: a stream refused right away (not
         * the one expected) leaves the output untouched. */
        if (want_output && !udpc_receiver_is_closed(rx))
            open_output();
        if (!write_failed && write_output(rx) != 0) {
            write_failed = errno;
            udpc_receiver_abort(rx);
            continue;
        }
        if (udpc_receiver_is_closed(rx))
            break;

        for (i = 0; i < S_COUNT; i++) {
            if (socks[i] >= 0) {
                pfd[nfd].fd = socks[i];
                pfd[nfd].events = POLLIN;
                map[nfd++] = i;
            }
        }
        if (keyboard && key_armed) {
            pfd[nfd].fd = STDIN_FILENO;
            pfd[nfd].events = POLLIN;
            map[nfd++] = -1;
        }
        if (udpc_receiver_poll_timeout(rx, &deadline) == UDPC_OK) {
            now = now_us();
            timeout_ms = deadline <= now ? 0 : (int)((deadline - now + 999) / 1000);
            if (deadline > now && deadline - now > 3600000000u)
                timeout_ms = 3600000;
        }
        if (poll(pfd, (nfds_t)nfd, timeout_ms) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (i = 0; i < nfd; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[i] < 0) {
                char key[64];
                ssize_t n = read(STDIN_FILENO, key, sizeof key);
                if (n <= 0)
                    keyboard = 0; /* EOF counts as a key press, once */
                udpc_receiver_handle_key(rx, now_us());
                key_armed = 0;
                continue;
            }
            for (;;) {
                struct sockaddr_in from;
                socklen_t fl = sizeof from;
                ssize_t n = recvfrom(pfd[i].fd, dgram, sizeof dgram, MSG_DONTWAIT,
                                     (struct sockaddr *)&from, &fl);
                if (n < 0)
                    break;
                udpc_receiver_handle_datagram(rx, now_us(), from.sin_addr.s_addr,
                                              ntohs(from.sin_port), dgram, (size_t)n);
            }
        }
        if (udpc_receiver_poll_timeout(rx, &deadline) == UDPC_OK && deadline <= now_us())
            udpc_receiver_handle_timeout(rx, now_us());
    }

    /* Closed: send the last datagrams (DISCONNECT) and collect the final events. */
    {
        udpc_receiver_event ev;
        send_pending(rx);
        while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK) {
            if (ev.kind == UDPC_RX_FAILED)
                failure = ev;
            else
                verification_event(rx, &ev);
        }
    }
    if (!write_failed && write_output(rx) != 0)
        write_failed = errno;
    if (write_failed)
        quit(out_path ? out_path : "(stdout)", write_failed, 1);
    if (udpc_receiver_is_finished(rx)) {
        struct stat st;
        uint64_t us;
        open_output(); /* an empty stream still yields an (empty) file */
        /* The boot image writes to /dev/sda and powers off: block devices are synced too. */
        if (!nosync && fstat(out_fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) &&
            fsync(out_fd) != 0)
            die("fsync");
        if (out_fd != STDOUT_FILENO && close(out_fd) != 0)
            die("close");
        udpc_receiver_deinit(rx);
        if (verified.kind == UDPC_RX_VERIFIED)
            fprintf(stderr, "verified: %llu bytes, crc32c %08lx\n",
                    (unsigned long long)verified.stream_bytes,
                    (unsigned long)verified.stream_crc32c);
        us = now_us() - t0 + 1;
        fprintf(stderr, "Transfer complete: %llu bytes in %llu.%llu s (%llu.%llu MB/s)\n",
                (unsigned long long)written, (unsigned long long)((us + 50000) / 1000000),
                (unsigned long long)((us + 50000) / 100000 % 10),
                (unsigned long long)((written * 10 + us / 2) / us / 10),
                (unsigned long long)((written * 10 + us / 2) / us % 10));
        return 0;
    }
    udpc_receiver_deinit(rx);
    quit(failure_text(&failure, reason, sizeof reason), 0,
         failure.error == UDPC_RXERR_NO_SENDER ? 255 : 1);
    return 1;
}

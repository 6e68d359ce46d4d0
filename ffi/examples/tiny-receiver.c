/*
 * tiny-receiver: a minimal udpcast receiver for boot images, built on libudpcast.
 *
 * The program owns the sockets, the clock and the output file; every protocol decision is
 * made by the library (sans-IO). Options follow udp-receiver's names:
 *
 *   tiny-receiver [--interface NAME] [--portbase N] [--file PATH] [--nokbd]
 *                 [--start-timeout S] [--receive-timeout S]
 *
 * Exit status: 0 when the whole stream was written, 255 when no sender answered before the
 * start timeout, 1 for any other failure (with a message on stderr).
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

/* Memory for the receiver with the default configuration (checked at start-up). It lives
 * in .bss, so it costs nothing in the binary. */
#define MEM_SIZE (6u << 20)
static unsigned char mem[MEM_SIZE] __attribute__((aligned(64)));

/* Sockets: unicast (sends everything), broadcast, and the data group once connected. */
enum { S_UCAST, S_BCAST, S_MCAST, S_COUNT };
static int socks[S_COUNT] = { -1, -1, -1 };

static int out_fd = -1;
static const char *out_path;

static void die(const char *what)
{
    fprintf(stderr, "tiny-receiver: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fail(const char *msg)
{
    fprintf(stderr, "tiny-receiver: %s\n", msg);
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned long number(const char *s, const char *opt)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0') {
        fprintf(stderr, "tiny-receiver: bad number for %s: %s\n", opt, s);
        exit(1);
    }
    return v;
}

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
        fail("no suitable network interface found");
}

static int bound_socket(uint32_t addr, uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = addr;
    sa.sin_port = htons(port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("bind");
    return fd;
}

static void open_output(void)
{
    if (out_fd >= 0)
        return;
    if (!out_path) {
        out_fd = STDOUT_FILENO;
        return;
    }
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
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

static void join_group(uint32_t group, uint16_t port, unsigned ifindex)
{
    struct ip_mreqn m;
    socks[S_MCAST] = bound_socket(group, port);
    memset(&m, 0, sizeof m);
    m.imr_multiaddr.s_addr = group;
    m.imr_ifindex = (int)ifindex;
    if (setsockopt(socks[S_MCAST], IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
        die("IP_ADD_MEMBERSHIP");
}

int main(int argc, char **argv)
{
    static uint8_t dgram[65536];
    const char *ifname = NULL;
    udpc_receiver_config cfg;
    udpc_receiver *rx;
    uint32_t own = 0, bcast = 0, error = UDPC_RXERR_NONE;
    unsigned ifindex = 0;
    int keyboard = 1, key_armed = 0, i, one = 1, rcvbuf = 0, write_failed = 0;
    socklen_t optlen = sizeof rcvbuf;

    udpc_receiver_config_default(&cfg);
    for (i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--nokbd")) {
            keyboard = 0;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr,
                    "usage: %s [--interface NAME] [--portbase N] [--file PATH] [--nokbd]\n"
                    "          [--start-timeout S] [--receive-timeout S]\n",
                    argv[0]);
            return 1;
        }
        if (!strcmp(o, "--interface"))
            ifname = argv[++i];
        else if (!strcmp(o, "--portbase"))
            cfg.portbase = (uint16_t)number(argv[++i], o);
        else if (!strcmp(o, "--file"))
            out_path = argv[++i];
        else if (!strcmp(o, "--start-timeout"))
            cfg.start_timeout_ms = 1000u * (uint64_t)number(argv[++i], o);
        else if (!strcmp(o, "--receive-timeout"))
            cfg.receive_timeout_ms = 1000u * (uint64_t)number(argv[++i], o);
        else {
            fprintf(stderr, "tiny-receiver: unknown option %s\n", o);
            return 1;
        }
    }
    if (udpc_receiver_mem_size(&cfg) > sizeof mem)
        fail("static memory too small for this libudpcast");

    pick_interface(ifname, &own, &bcast, &ifindex);
    socks[S_UCAST] = bound_socket(own, cfg.portbase);
    if (setsockopt(socks[S_UCAST], SOL_SOCKET, SO_BROADCAST, &one, sizeof one) != 0)
        die("SO_BROADCAST");
    if (bcast != own)
        socks[S_BCAST] = bound_socket(bcast, cfg.portbase);
    if (getsockopt(socks[S_UCAST], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen) == 0)
        cfg.receive_buffer = (uint32_t)rcvbuf;

    cfg.own_address = own;
    cfg.rendezvous = bcast;
    cfg.keyboard = keyboard;
    if (udpc_receiver_init(mem, sizeof mem, &cfg, now_us(), &rx) != UDPC_OK)
        fail("cannot create the receiver");
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
                if (ev.join_group != 0 && socks[S_MCAST] < 0)
                    join_group(ev.join_group, cfg.portbase, ifindex);
                open_output();
                /* stdin is watched only from now on: a key (or EOF) before the
                 * connection would be lost. */
                if (ev.waits_for_key && keyboard) {
                    key_armed = 1;
                    fprintf(stderr, "Press any key to start receiving data!\n");
                }
            } else if (ev.kind == UDPC_RX_STARTED) {
                key_armed = 0;
            } else if (ev.kind == UDPC_RX_FAILED) {
                error = ev.error;
            }
        }
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
        while (udpc_receiver_poll_event(rx, &ev) == UDPC_OK)
            if (ev.kind == UDPC_RX_FAILED)
                error = ev.error;
    }
    if (!write_failed && write_output(rx) != 0)
        write_failed = errno;
    if (write_failed) {
        errno = write_failed;
        die(out_path ? out_path : "(stdout)");
    }
    if (udpc_receiver_is_finished(rx)) {
        struct stat st;
        open_output(); /* an empty stream still yields an (empty) file */
        if (fstat(out_fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(out_fd) != 0)
            die("fsync");
        if (out_fd != STDOUT_FILENO && close(out_fd) != 0)
            die("close");
        udpc_receiver_deinit(rx);
        fprintf(stderr, "Transfer complete.\n");
        return 0;
    }
    fprintf(stderr, "tiny-receiver: %s\n",
            udpc_receiver_error_str(error != UDPC_RXERR_NONE ? error : UDPC_RXERR_DROPPED));
    udpc_receiver_deinit(rx);
    return error == UDPC_RXERR_NO_SENDER ? 255 : 1;
}

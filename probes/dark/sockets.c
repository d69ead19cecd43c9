/* sockets: socket() for a new socket, then recv/send/shutdown on a descriptor that is not one. */
#include <errno.h>
#include <sys/socket.h>
#include "wasiprobe.h"

int main(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int se = errno;
    char b[4];
    ssize_t r = recv(1, b, sizeof b, 0);
    int re = errno;
    int h = shutdown(1, SHUT_RDWR);
    wp_begin("dark", "sockets");
    wp_int("socket", s);
    wp_int("socket_errno", s < 0 ? se : 0);
    wp_int("recv_on_stdout", r);
    wp_int("recv_errno", r < 0 ? re : 0);
    wp_int("shutdown_on_stdout", h);
    wp_end();
    return 0;
}

// CLinuxShim: the Linux headers that Glibc's Swift module does not export (epoll, eventfd,
// timerfd), plus `static inline` wrappers for the C macros Swift cannot call.
#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <spawn.h>

/// The epoll event mask bits as plain integers (the header defines them as enum + macro pairs).
static inline uint32_t cmesh_epollin(void) { return EPOLLIN; }
static inline uint32_t cmesh_epollout(void) { return EPOLLOUT; }
static inline uint32_t cmesh_epollerr(void) { return EPOLLERR; }
static inline uint32_t cmesh_epollhup(void) { return EPOLLHUP; }
static inline uint32_t cmesh_epollrdhup(void) { return EPOLLRDHUP; }
static inline uint32_t cmesh_epollet(void) { return EPOLLET; }

/// TCP_USER_TIMEOUT is missing from some libc headers that Swift imports.
static inline int cmesh_tcp_user_timeout(void) {
#ifdef TCP_USER_TIMEOUT
    return TCP_USER_TIMEOUT;
#else
    return 18;
#endif
}


/// Flags for epoll_create1 and eventfd, which the headers define as enum + macro pairs
/// (added for MeshTransport's reactor).
static inline int cmesh_epoll_cloexec(void) { return EPOLL_CLOEXEC; }
static inline int cmesh_efd_nonblock_cloexec(void) { return EFD_NONBLOCK | EFD_CLOEXEC; }
/// Socket type flags for socket(2) and accept4(2).
static inline int cmesh_sock_nonblock_cloexec(void) { return SOCK_NONBLOCK | SOCK_CLOEXEC; }
static inline int cmesh_sock_stream(void) { return SOCK_STREAM; }
/// epoll_event's data is a union; these read and write its fd member.
static inline void cmesh_epoll_set_fd(struct epoll_event *e, int fd) { e->data.fd = fd; }
static inline int cmesh_epoll_get_fd(const struct epoll_event *e) { return e->data.fd; }

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC (glibc declares accept4 only under _GNU_SOURCE).
extern int accept4(int, struct sockaddr *, socklen_t *, int);
static inline int cmesh_accept_nonblocking(int fd) { return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }

/// The terminal size of `fd` (ioctl TIOCGWINSZ; Swift cannot call the variadic ioctl): 0 and the
/// size, or -1 when `fd` is not a terminal.
static inline int cmesh_terminal_size(int fd, unsigned short *columns, unsigned short *rows) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *columns = size.ws_col;
    *rows = size.ws_row;
    return 0;
}

/// posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34; declared only under _GNU_SOURCE): the
/// child closes every descriptor from `from` on.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *, int);
static inline int cmesh_spawn_close_from(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

#endif

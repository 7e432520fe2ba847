/*
 * alcor-cni as nodes run it: handoff.py's work, compiled (``python -m alcor.cni.bundle``
 * builds it, statically linked), so that what a node pays per pod and command is an exec and
 * a round trip on a unix socket, not Python's start (about 15 ms of CPU, a third of a pod's).
 *
 * It hands the invocation to the node's CNI daemon (``alcor cni-daemon``) in handoff.py's
 * protocol and prints the daemon's answer with its exit status. Whatever it cannot do that
 * way (no daemon, a daemon that declines or fails, a configuration whose "daemon_socket" it
 * cannot read) it gives to the Python plugin beside it, ``<this file>.pyz``, which does the
 * work itself: it runs that with the same arguments, environment and stdin. VERSION it
 * answers itself (tests/unit/test_cni_client.py checks the answer is the Python plugin's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DAEMON_SOCKET "/run/alcor-cni/cni.sock"
#define KEY "\"daemon_socket\""
#define MAX_CONFIGURATION (1 << 20) /* bytes of configuration; the daemon reads no more either */
#define VERSIONS "{\"cniVersion\": \"1.1.0\", \"supportedVersions\": [\"0.4.0\", \"1.0.0\", \"1.1.0\"]}\n"

extern char **environ;

struct buffer {
    char *data;
    size_t size;
};

static int read_all(int fd, struct buffer *into, size_t limit)
{
    size_t capacity = 1 << 14;
    into->data = malloc(capacity);
    into->size = 0;
    if (into->data == NULL)
        return -1;
    for (;;) {
        if (into->size == capacity) {
            if (capacity >= limit)
                return -1;
            capacity *= 2;
            char *grown = realloc(into->data, capacity);
            if (grown == NULL)
                return -1;
            into->data = grown;
        }
        ssize_t got = read(fd, into->data + into->size, capacity - into->size);
        if (got == 0)
            return 0;
        if (got < 0 && errno != EINTR)
            return -1;
        if (got > 0)
            into->size += (size_t)got;
    }
}

static int write_all(int fd, const char *data, size_t size)
{
    while (size > 0) {
        ssize_t put = write(fd, data, size);
        if (put < 0 && errno != EINTR)
            return -1;
        if (put > 0) {
            data += put;
            size -= (size_t)put;
        }
    }
    return 0;
}

/* The configuration's "daemon_socket" into ``path``: 0; the default when it names none;
 * -1 when it names one this does not read (escapes, too long): Python's work, then. */
static int socket_of(const struct buffer *configuration, char *path, size_t capacity)
{
    const char *end = configuration->data + configuration->size;
    const char *at = memmem(configuration->data, configuration->size, KEY, strlen(KEY));
    if (at == NULL) {
        strcpy(path, DAEMON_SOCKET);
        return 0;
    }
    at += strlen(KEY);
    while (at < end && strchr(" \t\r\n", *at) != NULL)
        at++;
    if (at == end || *at++ != ':')
        return -1;
    while (at < end && strchr(" \t\r\n", *at) != NULL)
        at++;
    if (at == end || *at++ != '"')
        return -1;
    size_t length = 0;
    while (at + length < end && at[length] != '"') {
        if (at[length] == '\\' || (unsigned char)at[length] < 0x20)
            return -1;
        length++;
    }
    if (at + length == end || length == 0 || length >= capacity)
        return -1;
    memcpy(path, at, length);
    path[length] = '\0';
    return 0;
}

/* The daemon's answer, printed: its exit status; -1 when there is none to print. */
static int ask(const char *path, const struct buffer *stdin_text)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(address.sun_path))
        return -1;
    strcpy(address.sun_path, path);
    int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client < 0)
        return -1;
    if (connect(client, (struct sockaddr *)&address, sizeof(address)) < 0) {
        close(client);
        return -1;
    }
    int failed = 0;
    for (char **variable = environ; *variable != NULL && !failed; variable++)
        if (strncmp(*variable, "CNI_", 4) == 0)
            failed = write_all(client, *variable, strlen(*variable) + 1);
    struct buffer answer = {0};
    if (failed || write_all(client, "", 1) < 0
        || write_all(client, stdin_text->data, stdin_text->size) < 0
        || shutdown(client, SHUT_WR) < 0 || read_all(client, &answer, INT_MAX) < 0) {
        close(client);
        return -1;
    }
    close(client);
    char *newline = memchr(answer.data, '\n', answer.size);
    if (newline == NULL || newline == answer.data || newline - answer.data > 3)
        return -1; /* declined, or cut short */
    int status = 0;
    for (char *digit = answer.data; digit < newline; digit++) {
        if (*digit < '0' || *digit > '9')
            return -1;
        status = status * 10 + (*digit - '0');
    }
    size_t printed = answer.size - (size_t)(newline + 1 - answer.data);
    if (write_all(STDOUT_FILENO, newline + 1, printed) < 0)
        return 1;
    return status;
}

/* The Python plugin beside this file, with the stdin this read. Returns only on failure. */
static void in_python(char **argv, const struct buffer *stdin_text)
{
    char self[PATH_MAX - 4];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length <= 0)
        return;
    self[length] = '\0';
    char plugin[PATH_MAX];
    strcpy(plugin, self);
    strcat(plugin, ".pyz");
    int text = memfd_create("alcor-cni-stdin", 0);
    if (text < 0 || write_all(text, stdin_text->data, stdin_text->size) < 0
        || lseek(text, 0, SEEK_SET) < 0 || dup2(text, STDIN_FILENO) < 0)
        return;
    close(text);
    argv[0] = plugin;
    execv(plugin, argv);
}

static int failure(const char *message)
{
    /* the spec's error: 11, try again later; the runtime's retry may find the daemon */
    static const char head[] = "{\"cniVersion\": \"1.1.0\", \"code\": 11, \"msg\": \"";
    write_all(STDOUT_FILENO, head, strlen(head));
    write_all(STDOUT_FILENO, message, strlen(message));
    write_all(STDOUT_FILENO, "\"}\n", 3);
    return 1;
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *command = getenv("CNI_COMMAND");
    if (command != NULL && strcmp(command, "VERSION") == 0) {
        write_all(STDOUT_FILENO, VERSIONS, strlen(VERSIONS));
        return 0;
    }
    struct buffer stdin_text;
    if (read_all(STDIN_FILENO, &stdin_text, MAX_CONFIGURATION) < 0)
        return failure("alcor-cni cannot read its configuration");
    char path[108];
    if (command != NULL && stdin_text.size > 0
        && socket_of(&stdin_text, path, sizeof(path)) == 0) {
        int status = ask(path, &stdin_text);
        if (status >= 0)
            return status;
    }
    in_python(argv, &stdin_text);
    return failure("alcor-cni cannot run the Python plugin beside it (<plugin>.pyz)");
}

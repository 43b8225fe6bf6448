/* notify-listen - receive one datagram on a unix socket, as systemd does
 * for Type=notify, and print it.
 *
 *   notify-listen PATH SECONDS
 *
 * Exit status 0 after printing the datagram, 1 when none came in time.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p;
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify-listen PATH SECONDS\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify-listen");
		return 2;
	}
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, atoi(argv[2]) * 1000) != 1)
		return 1;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return 1;
	fwrite(buf, 1, (size_t)n, stdout);
	putchar('\n');
	return 0;
}

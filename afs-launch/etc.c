/* etc.c - what of the host's /etc a bwrap sandbox sees.
 *
 * Tools need some of /etc to work at all: on Debian cc, awk, which, vi,
 * editor and pager are links through /etc/alternatives; git reads
 * /etc/gitconfig; the C library reads nsswitch.conf, services, protocols
 * and localtime; python reads /etc/python3.N.  Nothing else of the host's
 * /etc is there: a file that is not on the list below is absent.
 *
 * MUST (afs-launch(1) THE SANDBOX; tests/t2001, tests/t6001):
 *   - what is bound is read-only, and is the host's file (a link into
 *     /usr stays a link, as /etc/localtime must for a program to name
 *     its zone);
 *   - never shadow, gshadow, sudoers, the ssh host keys, the TLS private
 *     keys, machine-id, subuid/subgid or the host's passwd, group and hosts
 *     (the sandbox gets its own): not by default, not by --etc, not
 *     through a link that leads to one;
 *   - an --etc name that is refused or missing is an error (125), never
 *     silently left out.
 */
#include <errno.h>
#include <fnmatch.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch.h"
#include "path.h"
#include "util.h"

/* Bound when the host has them, each for a reason afs-launch(1) gives. */
static const char *const etc_default[] = {
	"alternatives",		/* cc, awk, which, vi, editor, pager... */
	"ca-certificates", "ca-certificates.conf", "ssl/certs", "ssl/openssl.cnf",
	"pki/ca-trust", "pki/tls/certs",	/* TLS roots (not ssl/private) */
	"debian_version", "os-release",	/* what system this is */
	"fonts",		/* fontconfig */
	"gai.conf", "host.conf", "nsswitch.conf", "resolv.conf",	/* the resolver */
	"gitconfig",		/* git's system configuration */
	"inputrc",		/* readline */
	"ld.so.cache", "ld.so.conf", "ld.so.conf.d",	/* the dynamic linker */
	"localtime", "timezone",	/* the time zone */
	"magic", "magic.mime",	/* file(1) */
	"mime.types", "mailcap",	/* types by extension */
	"networks", "protocols", "rpc", "services",	/* netdb names */
	"perl",			/* perl's site configuration */
	"python3", "python3.[0-9]*",	/* python's sitecustomize */
	"shells",
	"terminfo",
	"vim",			/* vi's defaults */
	"xattr.conf",		/* cp -a and tar: which xattrs to copy */
};

/* Never in the sandbox, whatever is asked: neither these (fnmatch(3)
 * patterns, relative to /etc), nor what is below them, nor a directory
 * that holds one.  passwd, group and hosts are written for the sandbox. */
static const char *const etc_denied[] = {
	"shadow", "shadow-", "gshadow", "gshadow-", ".pwd.lock",
	"sudoers", "sudoers.d", "sudo.conf", "sudo_logsrvd.conf",
	"ssh/ssh_host_*",	/* the host's identity */
	"ssh/sshd_config*",
	"ssl/private",		/* TLS private keys */
	"pki/tls/private",
	"security/opasswd",
	"machine-id",
	"subuid", "subuid-", "subgid", "subgid-",
	"passwd", "passwd-", "group", "group-", "hosts",
	"krb5.keytab",
};

/* Whether NAME (relative to /etc, cleaned) is, is below, or holds a
 * denied entry. */
static bool etc_is_denied(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < ARRAY_SIZE(etc_denied); i++) {
		if (fnmatch(etc_denied[i], name, FNM_PATHNAME | FNM_LEADING_DIR) == 0)
			return true;
		if (strncmp(etc_denied[i], name, n) == 0 && etc_denied[i][n] == '/')
			return true;
	}
	return false;
}

/* Whether the host's /etc/NAME leads to a denied entry, through a link
 * anywhere on its way. */
static bool etc_leads_to_denied(const char *name)
{
	char path[PATH_MAX], *real;
	bool denied;

	snprintf(path, sizeof(path), "/etc/%s", name);
	real = realpath(path, NULL);
	if (!real)
		return false;
	denied = strncmp(real, "/etc/", 5) == 0 && etc_is_denied(real + 5);
	free(real);
	return denied;
}

/* Is PATH (absolute, resolved) DIR or below it? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Does NAME have a ".." component? */
static bool has_dotdot(const char *name)
{
	for (const char *p = name; (p = strstr(p, "..")); p += 2)
		if ((p == name || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
			return true;
	return false;
}

/* Is NAME (relative to /etc, cleaned) bound by default already, itself or
 * as part of a directory? */
static bool etc_in_default(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(etc_default); i++)
		if (fnmatch(etc_default[i], name, FNM_PATHNAME | FNM_LEADING_DIR) == 0)
			return true;
	return false;
}

void etc_check(const char *name)
{
	char clean[PATH_MAX], path[PATH_MAX + 8], *real;
	int n, err;

	/* A comma would end docker's --mount field. */
	if (name[0] == '\0' || name[0] == '/' || strchr(name, ',') ||
	    strlen(name) >= sizeof(clean) - 1)
		die(EXIT_LAUNCH, "bad --etc: '%s' (a name relative to /etc)", name);
	n = path_clean(name, clean, sizeof(clean));
	if (n < 0 || strcmp(clean, "/") == 0 || has_dotdot(name))
		die(EXIT_LAUNCH, "bad --etc: '%s' (a name relative to /etc)", name);
	if (strcmp(clean, "/mtab") == 0)
		die(EXIT_LAUNCH, "--etc 'mtab': afs-launch makes it (a link to /proc/self/mounts)");
	snprintf(path, sizeof(path), "/etc%s", clean);
	real = realpath(path, NULL);
	err = real ? 0 : errno;
	/* Denied as named, or through a link.  A link out of /etc could bind
	 * anything, / itself and the codebase with its hidden files: only
	 * /etc, and /usr, which the sandbox sees anyway. */
	if (etc_is_denied(clean + 1) || (real && below(real, "/etc") && etc_is_denied(real + 5)))
		die(EXIT_LAUNCH, "--etc '%s': never given to a sandbox (see afs-launch(1))", name);
	if (!real)
		die(EXIT_LAUNCH, "--etc '%s': cannot use '%s': %s", name, path, strerror(err));
	if (!below(real, "/etc") && !below(real, "/usr"))
		die(EXIT_LAUNCH, "--etc '%s': leads out of /etc (to '%s')", name, real);
	free(real);
}

/* /etc/NAME into the sandbox, read-only: a link into /usr or /proc as the
 * same link, anything else as what it leads to. */
static void etc_bind_one(struct argv_buf *a, const char *name)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/etc/%s", name);
	if (lstat(path, &st) != 0 || etc_is_denied(name) || etc_leads_to_denied(name))
		return;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			return;
		target[n] = '\0';
		if (strncmp(target, "/usr/", 5) == 0 || strncmp(target, "../usr/", 7) == 0 ||
		    strncmp(target, "/proc/", 6) == 0) {
			argv_add(a, "--symlink");
			argv_add(a, target);
			argv_add(a, path);
			return;
		}
	}
	argv_add(a, "--ro-bind-try");
	argv_add(a, path);
	argv_add(a, path);
}

void etc_bind(struct argv_buf *a, const struct launch *L)
{
	argv_add(a, "--dir");
	argv_add(a, "/etc");
	/* The sandbox's own mounts, as on the host. */
	argv_add(a, "--symlink");
	argv_add(a, "../proc/self/mounts");
	argv_add(a, "/etc/mtab");
	for (size_t i = 0; i < ARRAY_SIZE(etc_default); i++) {
		/* A pattern (top level only): what the host has of it. */
		if (strpbrk(etc_default[i], "*?[")) {
			DIR *d = opendir("/etc");
			struct dirent *de;

			while (d && (de = readdir(d)))
				if (fnmatch(etc_default[i], de->d_name, FNM_PERIOD) == 0)
					etc_bind_one(a, de->d_name);
			if (d)
				closedir(d);
		} else {
			etc_bind_one(a, etc_default[i]);
		}
	}
	for (size_t i = 0; i < L->netc; i++) {
		char clean[PATH_MAX];

		/* What the list binds already is there (twice would fail). */
		if (path_clean(L->etc[i], clean, sizeof(clean)) >= 0 && !etc_in_default(clean + 1))
			etc_bind_one(a, clean + 1);
	}
}

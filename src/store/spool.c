/* spool.c - queue files: ids, envelope header format and parser, state files, writer. */
#include "store/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "util/fdio.h"

#define SPOOL_MAGIC "mailroom-queue 1\n"
#define SIZE_DIGITS 20
#define HEADER_MAX (1024 * 1024) /* an envelope of many recipients, with room */

void
envelope_free(struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		free(env->rcpts[i].addr);
		free(env->rcpts[i].orig);
		free(env->rcpts[i].error);
	}
	free(env->rcpts);
	free(env->sender);
	free(env->client);
	free(env->helo);
	free(env->auth);
	memset(env, 0, sizeof *env);
}

int
envelope_add_rcpt(struct envelope *env, enum target_kind kind, const char *addr,
    const char *orig)
{
	struct spool_rcpt *v = realloc(env->rcpts, (env->nrcpts + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	env->rcpts = v;
	struct spool_rcpt *r = &v[env->nrcpts];
	memset(r, 0, sizeof *r);
	r->kind = kind;
	r->addr = strdup(addr);
	r->orig = strdup(orig ? orig : addr);
	if (r->addr == NULL || r->orig == NULL) {
		free(r->addr);
		free(r->orig);
		return -1;
	}
	env->nrcpts++;
	return 0;
}

void
spool_new_id(char id[QUEUE_ID_LEN + 1])
{
	struct timeval tv;
	uint16_t rnd = 0;

	gettimeofday(&tv, NULL);
	if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
		rnd = (uint16_t)(getpid() ^ tv.tv_usec);
	/* 8 digits of seconds, 5 of microseconds, 3 random: sorts by arrival. */
	snprintf(id, QUEUE_ID_LEN + 1, "%08" PRIX32 "%05" PRIX32 "%03X",
	    (uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, rnd & 0xfffu);
}

bool
spool_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++) {
		if (i >= QUEUE_ID_LEN || !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	}
	return i == QUEUE_ID_LEN;
}

int
spool_init(const char *data_dir)
{
	static const char *const sub[] = { "queue", "queue/tmp", "queue/msg", "queue/state" };
	char path[4096];

	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", data_dir, sub[i]);
		if (mkdir(path, 0770) < 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

/* put_escaped - value with octets <= 0x20, '%' and 0x7f as %XX; "-" stands for empty/NULL. */
static int
put_escaped(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	if (s == NULL || *s == '\0')
		return buf_putc(out, '-');
	for (const char *c0 = s; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool lone_dash = c == '-' && s == c0 && s[1] == '\0';
		if (c <= 0x20 || c == '%' || c == 0x7f || lone_dash) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			if (buf_append(out, e, 3) < 0)
				return -1;
		} else if (buf_putc(out, (char)c) < 0) {
			return -1;
		}
	}
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* unescape - the inverse of put_escaped, into a new string. "-" is "". */
static char *
unescape(const char *s, size_t len)
{
	if (len == 1 && s[0] == '-')
		return strdup("");
	char *out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
		int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static const char *const body_names[] = { "7bit", "8bitmime", "binarymime" };

int
spool_format_header(const struct envelope *env, struct buf *out)
{
	int rc = 0;

	rc |= buf_printf(out, SPOOL_MAGIC "id %s\narrival %lld\nsender ", env->id,
	    (long long)env->arrival);
	rc |= put_escaped(out, env->sender);
	rc |= buf_printf(out, "\nclient ");
	rc |= put_escaped(out, env->client);
	rc |= buf_printf(out, "\nhelo ");
	rc |= put_escaped(out, env->helo);
	if (env->auth) {
		rc |= buf_printf(out, "\nauth ");
		rc |= put_escaped(out, env->auth);
	}
	rc |= buf_printf(out, "\nbody %s\nsmtputf8 %d\nbounce %d\n", body_names[env->body],
	    env->smtputf8, env->is_bounce);
	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		rc |= buf_printf(out, "rcpt %c ", r->kind == TARGET_LOCAL ? 'L' : 'R');
		rc |= put_escaped(out, r->addr);
		rc |= buf_putc(out, ' ');
		rc |= put_escaped(out, r->orig);
		rc |= buf_putc(out, '\n');
	}
	rc |= buf_printf(out, "size %0*" PRIu64 "\n\n", SIZE_DIGITS, env->body_size);
	return rc ? -1 : 0;
}

/* next_field - the next space-separated field of [*p, end). */
static bool
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	while (*p < end && **p == ' ')
		(*p)++;
	if (*p >= end)
		return false;
	*f = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*flen = (size_t)(*p - *f);
	return true;
}

static int
parse_fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -1;
}

int
spool_parse_header(const char *data, size_t len, bool check_len, struct envelope *env,
    char *err, size_t errlen)
{
	size_t magic = strlen(SPOOL_MAGIC);
	bool have_size = false;

	memset(env, 0, sizeof *env);
	if (len < magic || memcmp(data, SPOOL_MAGIC, magic) != 0)
		return parse_fail(err, errlen, "not a queue file");
	const char *p = data + magic, *end = data + len;
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			goto bad;
		if (nl == p) { /* the blank line */
			p = nl + 1;
			break;
		}
		const char *q = p, *key, *v1, *v2;
		size_t klen, l1, l2;
		if (!next_field(&q, nl, &key, &klen) || !next_field(&q, nl, &v1, &l1))
			goto bad;
		char **dst = NULL;
		if (klen == 2 && memcmp(key, "id", 2) == 0) {
			if (l1 != QUEUE_ID_LEN)
				goto bad;
			memcpy(env->id, v1, QUEUE_ID_LEN);
			env->id[QUEUE_ID_LEN] = '\0';
			if (!spool_id_valid(env->id))
				goto bad;
		} else if (klen == 7 && memcmp(key, "arrival", 7) == 0) {
			env->arrival = (time_t)strtoll(v1, NULL, 10);
		} else if (klen == 6 && memcmp(key, "sender", 6) == 0) {
			dst = &env->sender;
		} else if (klen == 6 && memcmp(key, "client", 6) == 0) {
			dst = &env->client;
		} else if (klen == 4 && memcmp(key, "helo", 4) == 0) {
			dst = &env->helo;
		} else if (klen == 4 && memcmp(key, "auth", 4) == 0) {
			dst = &env->auth;
		} else if (klen == 4 && memcmp(key, "body", 4) == 0) {
			size_t b;
			for (b = 0; b < 3; b++)
				if (strlen(body_names[b]) == l1 && memcmp(v1, body_names[b], l1) == 0)
					break;
			if (b == 3)
				goto bad;
			env->body = (enum body_type)b;
		} else if (klen == 8 && memcmp(key, "smtputf8", 8) == 0) {
			env->smtputf8 = v1[0] == '1';
		} else if (klen == 6 && memcmp(key, "bounce", 6) == 0) {
			env->is_bounce = v1[0] == '1';
		} else if (klen == 4 && memcmp(key, "rcpt", 4) == 0) {
			if (l1 != 1 || (v1[0] != 'L' && v1[0] != 'R') ||
			    !next_field(&q, nl, &v2, &l2))
				goto bad;
			const char *v3;
			size_t l3;
			if (!next_field(&q, nl, &v3, &l3))
				goto bad;
			char *a = unescape(v2, l2), *o = unescape(v3, l3);
			int rc = (a && o) ? envelope_add_rcpt(env,
			    v1[0] == 'L' ? TARGET_LOCAL : TARGET_REMOTE, a, o) : -1;
			free(a);
			free(o);
			if (rc < 0)
				goto bad;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			char num[SIZE_DIGITS + 1];
			if (l1 != SIZE_DIGITS)
				goto bad;
			memcpy(num, v1, l1);
			num[l1] = '\0';
			env->body_size = strtoull(num, NULL, 10);
			have_size = true;
		} /* unknown keys: written by a newer version; ignored */
		if (dst != NULL) {
			free(*dst);
			if ((*dst = unescape(v1, l1)) == NULL)
				goto bad;
		}
		p = nl + 1;
	}
	if (!have_size || env->id[0] == '\0' || env->sender == NULL || env->nrcpts == 0)
		goto bad;
	env->body_offset = (uint64_t)(p - data);
	if (check_len && env->body_offset + env->body_size != len) {
		envelope_free(env);
		return parse_fail(err, errlen, "incomplete queue file");
	}
	return 0;
bad:
	envelope_free(env);
	return parse_fail(err, errlen, "malformed queue file header");
}

/* read_header - the first bytes of msg/<id>, enough to hold the header. */
static int
read_file_head(int fd, struct buf *b, uint64_t *filesize)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	*filesize = (uint64_t)st.st_size;
	size_t want = st.st_size < HEADER_MAX ? (size_t)st.st_size : HEADER_MAX;
	if (buf_reserve(b, want) < 0)
		return -1;
	size_t got = 0;
	while (got < want) {
		ssize_t n = pread(fd, b->data + got, want - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	b->len = got;
	return 0;
}

static int
apply_state(const char *queue_dir, struct envelope *env)
{
	char path[4096], line[4096];
	snprintf(path, sizeof path, "%s/state/%s", queue_dir, env->id);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof line, f)) {
		unsigned idx, attempts;
		char st;
		long long next;
		char errtext[4000];
		if (sscanf(line, "r %u %c %u %lld %3999s", &idx, &st, &attempts, &next, errtext) != 5)
			continue;
		if (idx >= env->nrcpts)
			continue;
		struct spool_rcpt *r = &env->rcpts[idx];
		r->status = st == 'D' ? RCPT_DELIVERED : st == 'B' || st == 'N' ? RCPT_BOUNCED :
		    RCPT_PENDING;
		r->dsn_due = st == 'N';
		r->attempts = attempts;
		r->next_try = (time_t)next;
		free(r->error);
		r->error = strcmp(errtext, "-") == 0 ? NULL : unescape(errtext, strlen(errtext));
	}
	fclose(f);
	return 0;
}

int
spool_load(const char *queue_dir, const char *id, struct envelope *env)
{
	char path[4096], err[128];
	struct buf b = { 0 };
	uint64_t filesize;

	snprintf(path, sizeof path, "%s/msg/%s", queue_dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = read_file_head(fd, &b, &filesize);
	close(fd);
	if (rc < 0) {
		buf_free(&b);
		return -1;
	}
	rc = spool_parse_header(b.data ? b.data : "", b.len, false, env, err, sizeof err);
	buf_free(&b);
	if (rc < 0 || env->body_offset + env->body_size != filesize || strcmp(env->id, id) != 0) {
		if (rc == 0)
			envelope_free(env);
		errno = EINVAL;
		return -1;
	}
	if (apply_state(queue_dir, env) < 0) {
		envelope_free(env);
		return -1;
	}
	return 0;
}

/* write_all - write n octets, retrying short writes. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
spool_write_state(const char *queue_dir, const struct envelope *env)
{
	char path[4096], tmp[4096];
	struct buf b = { 0 };
	int rc = 0;

	for (size_t i = 0; i < env->nrcpts; i++) {
		const struct spool_rcpt *r = &env->rcpts[i];
		char st = r->status == RCPT_DELIVERED ? 'D' : r->status != RCPT_BOUNCED ? 'P' :
		    r->dsn_due ? 'N' : 'B';
		rc |= buf_printf(&b, "r %zu %c %u %lld ", i, st, r->attempts, (long long)r->next_try);
		rc |= put_escaped(&b, r->error);
		rc |= buf_putc(&b, '\n');
	}
	snprintf(path, sizeof path, "%s/state/%s", queue_dir, env->id);
	snprintf(tmp, sizeof tmp, "%s/state/.%s.tmp", queue_dir, env->id);
	int fd = rc ? -1 : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0660);
	if (fd < 0 || write_all(fd, b.data, b.len) < 0) {
		if (fd >= 0)
			close(fd);
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void
spool_remove(const char *queue_dir, const char *id)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/state/%s", queue_dir, id);
	unlink(path);
	snprintf(path, sizeof path, "%s/msg/%s", queue_dir, id);
	unlink(path);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(const char *queue_dir, struct strlist *out)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/msg", queue_dir);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (spool_id_valid(de->d_name) && strlist_add(out, de->d_name) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof out->v[0], cmp_str);
	return 0;
}

int
spool_writer_open(struct spool_writer *w, const char *queue_dir, const struct envelope *env)
{
	struct buf hdr = { 0 };

	memset(w, 0, sizeof *w);
	w->fd = -1;
	if (spool_format_header(env, &hdr) < 0)
		goto fail;
	snprintf(w->path, sizeof w->path, "%s/tmp/%s", queue_dir, env->id);
	w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	if (w->fd < 0)
		goto fail;
	w->header_len = hdr.len;
	/* The size digits end two octets before the header's end ("\n\n"). */
	w->size_offset = hdr.len - 2 - SIZE_DIGITS;
	if (write_all(w->fd, hdr.data, hdr.len) < 0) {
		spool_writer_abort(w);
		goto fail;
	}
	buf_free(&hdr);
	return 0;
fail:
	buf_free(&hdr);
	return -1;
}

int
spool_writer_write(struct spool_writer *w, const void *p, size_t n)
{
	if (write_all(w->fd, p, n) < 0)
		return -1;
	w->written += n;
	return 0;
}

int
spool_writer_copy(struct spool_writer *w, int src, uint64_t len)
{
	if (fd_copy(src, len, w->fd) < 0)
		return -1;
	w->written += len;
	return 0;
}

int
spool_spill_open(const char *queue_dir, const char *id)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/tmp", queue_dir);
	int fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, sizeof path, "%s/tmp/%s.spill", queue_dir, id);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int
spool_writer_finish(struct spool_writer *w, const char *queue_dir, const char *id,
    int *keep_fd)
{
	char digits[SIZE_DIGITS + 1], dst[4096];

	snprintf(digits, sizeof digits, "%0*" PRIu64, SIZE_DIGITS, w->written);
	if (pwrite(w->fd, digits, SIZE_DIGITS, (off_t)w->size_offset) != SIZE_DIGITS) {
		spool_writer_abort(w);
		return -1;
	}
	snprintf(dst, sizeof dst, "%s/msg/%s", queue_dir, id);
	if (rename(w->path, dst) < 0) {
		spool_writer_abort(w);
		return -1;
	}
	int fd = w->fd;
	w->fd = -1;
	if (keep_fd) {
		*keep_fd = fd;
		return 0;
	}
	if (close(fd) < 0) {
		unlink(dst);
		return -1;
	}
	return 0;
}

void
spool_writer_abort(struct spool_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->path);
	}
	w->fd = -1;
}

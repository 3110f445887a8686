/* deliver_local.c - the trace headers, the fixed name, the quota, then one batch file. */
#include "store/deliver_local.h"

#include <errno.h>
#include <stdio.h>

#include "store/maildir.h"
#include "store/maildir_batch.h"
#include "store/wire.h"
#include "util/buf.h"

enum local_status
store_deliver_local(struct md_batch *b, const char *mail_dir, const char *hostname,
    const struct envelope *env, const struct local_text *text, const struct local_rcpt *rcpt)
{
	char dir[4096], name[1024];
	struct buf hdr = { 0 };
	enum local_status st = LOCAL_ADDED;

	if (text->nmem > MD_MEM_MAX)
		return errno = EINVAL, LOCAL_FAILED;
	if (maildir_path(mail_dir, rcpt->mailbox, dir, sizeof dir) < 0)
		return errno = EINVAL, LOCAL_BAD_NAME;
	/* Quarantined: the Junk folder of Dovecot's Maildir++ layout, which POP3 does not show. */
	char inbox[sizeof dir];
	snprintf(inbox, sizeof inbox, "%s", dir);
	if (env->junk && (size_t)snprintf(dir, sizeof dir, "%s/.Junk", inbox) >= sizeof dir)
		return errno = EINVAL, LOCAL_BAD_NAME;
	if (maildir_trace_headers(&hdr, env->sender, rcpt->mailbox) < 0)
		return errno = ENOMEM, LOCAL_FAILED;
	uint64_t size = hdr.len + (text->fd >= 0 ? text->len : 0);
	for (int i = 0; i < text->nmem; i++)
		size += text->mem[i].iov_len;
	uint64_t vsize = size + count_lf(hdr.data, hdr.len) + text->lines;
	if (rcpt->quota > 0 && maildir_usage(inbox) + size > rcpt->quota) {
		st = LOCAL_FULL;
		goto out;
	}
	maildir_name(name, sizeof name, env->arrival, env->id, rcpt->idx, hostname, size, vsize);
	if (rcpt->recovering && maildir_has(dir, name)) {
		st = LOCAL_PRESENT;
		goto out;
	}
	if (md_batch_add(b, dir, name, &hdr, text->mem, text->nmem, text->fd, text->off,
	    text->len, rcpt->owner, rcpt->idx) < 0)
		st = LOCAL_FAILED;
out:;
	int e = errno;
	buf_free(&hdr);
	errno = e;
	return st;
}

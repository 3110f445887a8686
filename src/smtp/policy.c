/*
 * policy.c - the SMTP listeners' decisions (policy.h), as pure functions of the
 * facts, with the reply each refusal gets.
 */
#include "smtp/policy.h"

#include <stdio.h>

static void
allow(struct policy_decision *d)
{
	d->reason = POLICY_OK;
	d->code = 0;
	d->status = "";
	d->text[0] = '\0';
}

static void
refuse(struct policy_decision *d, enum policy_reason reason, int code, const char *status)
{
	d->reason = reason;
	d->code = code;
	d->status = status;
}

static bool
submission(const struct policy_facts *f)
{
	return f->svc == SVC_SUBMISSION || f->svc == SVC_SUBMISSIONS;
}

bool
policy_refused(const struct policy_decision *d)
{
	return d->reason != POLICY_OK;
}

void
policy_auth(const struct policy_facts *f, struct policy_decision *d)
{
	allow(d);
	if (!submission(f)) {
		refuse(d, POLICY_AUTH_NOT_ENABLED, 503, "5.5.1");
		snprintf(d->text, sizeof d->text, "Error: authentication not enabled");
	} else if (!f->tls && !f->trusted) {
		/* RFC 4954 4: 538 for a mechanism that needs encryption. */
		refuse(d, POLICY_ENCRYPTION_REQUIRED, 538, "5.7.11");
		snprintf(d->text, sizeof d->text,
		    "Encryption required for requested authentication mechanism");
	}
}

void
policy_mail(const struct policy_facts *f, struct policy_decision *d)
{
	allow(d);
	if (submission(f) && f->login == NULL) {
		refuse(d, POLICY_AUTH_REQUIRED, 530, "5.7.0");
		snprintf(d->text, sizeof d->text, "Authentication required");
	}
}

bool
policy_sender_checked(const struct policy_facts *f, bool null_sender)
{
	return f->login != NULL && !null_sender;
}

void
policy_sender(const struct policy_facts *f, const char *sender, int owned,
    struct policy_decision *d)
{
	allow(d);
	if (owned < 0) {
		/* Defer rather than refuse: the store may answer in a moment. */
		refuse(d, POLICY_STORE_FAILURE, 451, "4.3.0");
		snprintf(d->text, sizeof d->text, "<%s>: Temporary lookup failure", sender);
	} else if (owned == 0) {
		refuse(d, POLICY_SENDER_NOT_OWNED, 553, "5.7.1");
		snprintf(d->text, sizeof d->text, "<%s>: Sender address rejected: not owned by user %s",
		    sender, f->login ? f->login : "");
	}
}

void
policy_rcpt(const struct policy_facts *f, const char *rcpt, enum resolve_status st,
    struct policy_decision *d)
{
	allow(d);
	switch (st) {
	case RESOLVE_OK:
		break;
	case RESOLVE_NO_SUCH_USER:
		refuse(d, POLICY_UNKNOWN_USER, 550, "5.1.1");
		snprintf(d->text, sizeof d->text, "<%s>: Recipient address rejected: User unknown",
		    rcpt);
		break;
	case RESOLVE_TEMPFAIL:
		refuse(d, POLICY_LOOKUP_TEMPFAIL, 451, "4.3.0");
		snprintf(d->text, sizeof d->text, "<%s>: Temporary lookup failure", rcpt);
		break;
	case RESOLVE_NOT_LOCAL:
		/* Relaying: never without a login, but from trusted networks on port 25. */
		if (f->login == NULL && !(f->svc == SVC_SMTP && f->trusted)) {
			refuse(d, POLICY_RELAY_DENIED, 554, "5.7.1");
			snprintf(d->text, sizeof d->text, "<%s>: Relay access denied", rcpt);
		}
		break;
	}
}

bool
policy_greylist_applies(const struct policy_facts *f, bool greylist_on)
{
	return greylist_on && f->svc == SVC_SMTP && !f->trusted && f->login == NULL;
}

void
policy_greylist(const char *rcpt, enum grey_answer answer, struct policy_decision *d)
{
	allow(d);
	/* GREY_FAILED passes too: mail is never refused because the store is down. */
	if (answer == GREY_LISTED) {
		refuse(d, POLICY_GREYLISTED, 451, "4.7.1");
		snprintf(d->text, sizeof d->text, "<%s>: greylisted, try again later", rcpt);
	}
}

/* dkim_keyrec.c - reading DKIM key records (RFC 6376 3.6.1, RFC 8463 4). */
#include "dkim/dkim_keyrec.h"

#include <stdio.h>
#include <string.h>

#include "dkim/dkim_canon.h"
#include "dkim/dkim_tags.h"

int
dkim_keyrec_parse(const char *text, size_t len, struct dkim_keyrec *k, char *why,
    size_t whylen)
{
	struct dkim_tags t;
	const struct dkim_tag *tag;

	memset(k, 0, sizeof *k);
	if (dkim_tags_parse(text, len, &t, why, whylen) < 0)
		return -1;
	if ((tag = dkim_tags_find(&t, "v")) != NULL &&
	    (tag != &t.v[0] || !dkim_tag_is(&t, tag, "DKIM1"))) {
		snprintf(why, whylen, "key record v= is not DKIM1 first");
		return -1;
	}
	k->type = DKIM_KEY_RSA;
	if ((tag = dkim_tags_find(&t, "k")) != NULL) {
		if (dkim_tag_is(&t, tag, "ed25519"))
			k->type = DKIM_KEY_ED25519;
		else if (!dkim_tag_is(&t, tag, "rsa")) {
			snprintf(why, whylen, "unknown key type k=");
			return -1;
		}
	}
	k->sha256_ok = k->sha1_ok = true;
	if ((tag = dkim_tags_find(&t, "h")) != NULL) {
		k->sha256_ok = dkim_list_has(text + tag->val, tag->val_len, "sha256", false);
		k->sha1_ok = dkim_list_has(text + tag->val, tag->val_len, "sha1", false);
	}
	if ((tag = dkim_tags_find(&t, "s")) != NULL &&
	    !dkim_list_has(text + tag->val, tag->val_len, "*", false) &&
	    !dkim_list_has(text + tag->val, tag->val_len, "email", false)) {
		snprintf(why, whylen, "key not for email (s=)");
		return -1;
	}
	if ((tag = dkim_tags_find(&t, "t")) != NULL) {
		k->testing = dkim_list_has(text + tag->val, tag->val_len, "y", false);
		k->strict = dkim_list_has(text + tag->val, tag->val_len, "s", false);
	}
	if ((tag = dkim_tags_find(&t, "p")) == NULL) {
		snprintf(why, whylen, "key record without p=");
		return -1;
	}
	long n = dkim_base64_decode(text + tag->val, tag->val_len, k->key, sizeof k->key);
	if (n < 0) {
		snprintf(why, whylen, "key record p= is not base64");
		return -1;
	}
	k->key_len = (size_t)n;
	k->revoked = n == 0;
	return 0;
}

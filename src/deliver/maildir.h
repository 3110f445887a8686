/*
 * deliver/maildir.h - forwarding header: Maildir names and paths are in
 * store/maildir.h. Kept only for pop3_auth.c (on the session branch at the time of
 * the move); remove it once that includes store/maildir.h.
 */
#include "store/maildir.h"

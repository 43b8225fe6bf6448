/* termfilter.c - what the sandbox writes, made safe for the person's
 * terminal that attach shows it on.
 *
 * The session's pty carries the sandbox's bytes, and a terminal does more
 * with some of them than draw: it answers queries by typing the answer
 * into its own input (device status, device attributes, the window title
 * with CSI 21 t, DECRQSS, XTVERSION, OSC colour and font queries, ENQ's
 * answerback), sets or reads the clipboard (OSC 52: what the person pastes
 * next into a host shell, or the clipboard read back into the sandbox),
 * sets titles, hyperlinks and the working directory, and in some terminals
 * writes files or runs commands (iTerm2's OSC 1337, kitty's DCS).  An
 * answer typed while attached goes into the sandbox's shell; one that
 * comes late, after detaching, goes into the person's own shell.
 *
 * So the filter passes text and what a shell or an editor needs to draw
 * (an allowlist: cursor motion, erasing, scrolling regions, colours and
 * modes), and drops the rest whole:
 *
 *   MUST never pass the introducer of a string (OSC, DCS, SOS, PM, APC),
 *        in 7-bit (ESC ] ...) or 8-bit form (C1, raw or UTF-8 encoded):
 *        a terminal then never enters a string, whatever follows;
 *   MUST pass a CSI or ESC sequence only whole, as one run of bytes that
 *        the terminal parses as that sequence and no other, and only one
 *        of the allowlist (none that answers, none that acts on the window
 *        or the keyboard's encoding, no VT52 mode, no character set change
 *        but the designations);
 *   MUST drop C0 controls but the ones text uses, and ENQ with them;
 *   MUST keep its state across calls: a sequence split over two reads
 *        is the same sequence;
 *   MUST bound what it holds (TERM_SEQ_MAX): a longer sequence is dropped.
 *
 * When the terminal's encoding (the locale's) is not UTF-8, the bytes
 * 0x80-0x9f are C1 controls to it, and all are dropped.
 */
#include <stdbool.h>
#include <string.h>

#include "session.h"

enum {
	GROUND,
	ESCAPE,		/* after ESC */
	ESC_INTER,	/* ESC and intermediates: until a final byte */
	CHARSET,	/* ESC ( or ESC ): one final byte */
	CSI_SEQ,	/* ESC [ ...: collected until the final byte */
	STRING,		/* OSC, DCS, SOS, PM, APC: dropped until BEL or ST */
	STRING_ESC,	/* ESC in a string: ST if a backslash follows */
	UTF8_C2,	/* 0xc2: U+0080-U+009F (C1) follow as 0x80-0x9f */
};

/* Text's controls: BEL, BS, HT, LF, VT, FF, CR, SO, SI. */
static bool text_control(unsigned char c)
{
	return c >= 0x07 && c <= 0x0f;
}

/* Does the terminal only draw with this CSI?  S holds ESC [ P... I... F. */
static bool csi_allowed(const unsigned char *s, size_t n)
{
	unsigned char final = s[n - 1], priv = n > 3 ? s[2] : 0;
	const unsigned char *p = s + 2, *end = s + n - 1;
	bool inter_space = false;

	for (const unsigned char *q = p; q < end; q++) {
		if (*q >= 0x20 && *q <= 0x2f) {
			/* Only DECSCUSR (cursor shape) has one: CSI Ps SP q. */
			if (*q != ' ' || q + 1 != end || final != 'q')
				return false;
			inter_space = true;
		}
	}
	if (inter_space)
		return priv != '?' && priv != '>' && priv != '<' && priv != '=';
	if (priv == '?') {
		/* DEC modes, but 2 (DECANM: VT52 mode, whose sequences this
		 * filter does not parse); selective erase. */
		if (final == 'J' || final == 'K')
			return true;
		if (final != 'h' && final != 'l')
			return false;
		/* Each parameter as the terminal reads it (02 is 2). */
		unsigned v = 0;

		for (const unsigned char *q = p + 1; q <= end; q++) {
			if (q < end && *q >= '0' && *q <= '9') {
				v = v > 9999 ? v : v * 10 + (unsigned)(*q - '0');
				continue;
			}
			if (v == 2)
				return false;
			v = 0;
		}
		return true;
	}
	if (priv == '>')
		return final == 'm';	/* modifyOtherKeys */
	if (priv == '<' || priv == '=')
		return false;
	/* No answer (c, n, x, q, p with $), no window operation (t), no
	 * printing (i). */
	return strchr("@ABCDEFGHIJKLMPSTXZ`abdefghlmrsu", final) != NULL;
}

/* Emit C, and follow the terminal's UTF-8 decoder: how many continuation
 * bytes it still expects. */
static void put(struct term_filter *f, char *out, size_t *o, unsigned char c)
{
	out[(*o)++] = (char)c;
	if (c < 0x80)
		f->cont = 0;
	else if (c < 0xc0)
		f->cont -= f->cont > 0;
	else
		f->cont = c <= 0xdf ? 1 : c <= 0xef ? 2 : c <= 0xf7 ? 3 : 0;
}

/* Filter N bytes of IN into OUT (room for N + TERM_SEQ_MAX bytes);
 * returns how many were written. */
size_t term_filter(struct term_filter *f, const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		switch (f->state) {
		case UTF8_C2:
			/* 0xc2 is held until the byte after it is known: a C1
			 * control in UTF-8 (0x80-0x9f) is dropped, a character
			 * passes, and a 0xc2 that leads nothing is dropped, so
			 * that no later byte can complete it. */
			f->state = GROUND;
			if (c >= 0x80 && c <= 0x9f)
				continue;
			if (c >= 0xa0 && c <= 0xbf) {
				put(f, out, &o, 0xc2);
				put(f, out, &o, c);
				continue;
			}
			break;	/* C again, from the ground */
		case ESCAPE:
			f->state = GROUND;
			if (c == '[') {
				f->len = 2;
				f->seq[0] = 0x1b;
				f->seq[1] = '[';
				f->state = CSI_SEQ;
			} else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
				f->state = STRING;
			} else if (c == '(' || c == ')') {
				f->seq[0] = c;
				f->state = CHARSET;
			} else if (c >= 0x20 && c <= 0x2f) {
				f->state = ESC_INTER;
			} else if (c && strchr("78=>DEMc", c)) {
				put(f, out, &o, 0x1b);
				put(f, out, &o, c);
			} else if (c < 0x20 || c >= 0x7f) {
				break;	/* ESC dropped; C from the ground */
			}
			continue;	/* others (ESC Z: identify) dropped */
		case ESC_INTER:
			if (c >= 0x20 && c <= 0x2f)
				continue;
			f->state = GROUND;
			if (c >= 0x30 && c <= 0x7e)
				continue;
			break;
		case CHARSET:
			f->state = GROUND;
			if (c >= 0x30 && c <= 0x7e) {
				put(f, out, &o, 0x1b);
				put(f, out, &o, (unsigned char)f->seq[0]);
				put(f, out, &o, c);
				continue;
			}
			break;
		case CSI_SEQ:
			if (c >= 0x20 && c <= 0x3f) {
				if (f->len < TERM_SEQ_MAX)
					f->seq[f->len] = (char)c;
				f->len++;
				continue;
			}
			f->state = GROUND;
			if (c >= 0x40 && c <= 0x7e) {
				if (f->len < TERM_SEQ_MAX) {
					f->seq[f->len++] = (char)c;
					if (csi_allowed((unsigned char *)f->seq, f->len)) {
						memcpy(out + o, f->seq, f->len);
						o += f->len;
						f->cont = 0;
					}
				}
				continue;
			}
			break;	/* broken off: dropped, C from the ground */
		case STRING:
			if (c == 0x1b)
				f->state = STRING_ESC;
			else if (c == 0x07 || c == 0x9c)
				f->state = GROUND;
			continue;
		case STRING_ESC:
			f->state = c == '\\' ? GROUND : c == 0x1b ? STRING_ESC : STRING;
			continue;
		default:
			break;
		}
		/* The ground. */
		if (c == 0x1b) {
			f->state = ESCAPE;
		} else if (c < 0x20) {
			if (text_control(c))
				put(f, out, &o, c);
		} else if (c == 0xc2 && f->utf8) {
			f->state = UTF8_C2;
		} else if (c >= 0x80 && c <= 0x9f) {
			/* A continuation byte passes inside a UTF-8 sequence;
			 * else it is a C1 control to the terminal. */
			if (f->utf8 && f->cont > 0)
				put(f, out, &o, c);
		} else {
			put(f, out, &o, c);
		}
	}
	return o;
}

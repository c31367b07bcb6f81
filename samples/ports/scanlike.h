/*
 * scanlike.h - what the scanlike filter and its user-mode program share:
 * the port name, the notification the filter sends for every open, the
 * verdict the program sends back, and the commands the program sends the
 * filter.  Laid out as the WDK scanner sample's scanuk.h is.
 */
#ifndef SCANLIKE_H
#define SCANLIKE_H

#define SCANLIKE_PORT_NAME L"\\AltitudeScanPort"
#define SCANLIKE_NAME_CHARS 260

/* Filter -> program, one per open; the program answers SCANLIKE_REPLY. */
typedef struct _SCANLIKE_NOTIFICATION {
	ULONG ProcessId; /* who is opening */
	ULONG NameLength; /* bytes of Name used */
	WCHAR Name[SCANLIKE_NAME_CHARS]; /* \dir\file, not terminated */
} SCANLIKE_NOTIFICATION, *PSCANLIKE_NOTIFICATION;

typedef struct _SCANLIKE_REPLY {
	BOOLEAN SafeToOpen;
} SCANLIKE_REPLY, *PSCANLIKE_REPLY;

/* Program -> filter (FilterSendMessage). */
typedef enum _SCANLIKE_COMMAND_CODE {
	ScanlikeGetStats = 1, /* output: SCANLIKE_STATS */
	ScanlikeSetTimeout = 2, /* Value: ms; output: ULONG, the old one */
} SCANLIKE_COMMAND_CODE;

typedef struct _SCANLIKE_COMMAND {
	ULONG Command;
	ULONG Value;
} SCANLIKE_COMMAND, *PSCANLIKE_COMMAND;

typedef struct _SCANLIKE_STATS {
	ULONGLONG Scanned; /* opens sent to the program */
	ULONGLONG Denied; /* opens the program refused */
	ULONGLONG TimedOut; /* opens allowed because no verdict came */
	ULONG TimeoutMs;
	ULONG Connected; /* 1 while a program is connected */
} SCANLIKE_STATS, *PSCANLIKE_STATS;

#endif /* SCANLIKE_H */

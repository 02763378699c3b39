"""Chat transports: each turns a platform-neutral Message into one platform's format."""

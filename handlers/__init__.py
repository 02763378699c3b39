"""Commands, platform-neutral: each takes a parsed Command and returns a Message reply.

No module here imports a chat library; bot.transports turn platform updates into
Commands and Messages into HTML or Block Kit.
"""

"""The goal-state protocol (``proto/alcor/v1``): generated messages, and ``keys``, the rules both
sides share about what an entry sets and how entries are ordered. The agent depends on this
package alone."""

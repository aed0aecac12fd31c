// librdkafka, from Debian's librdkafka-dev. The library loaded at run time may be newer (the same soname,
// librdkafka.so.1, keeps its ABI): the scripts use the one in the confluent-kafka wheel for the test broker.
#include <librdkafka/rdkafka.h>

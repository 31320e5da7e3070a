"""A small OpenTelemetry collector for the tests: an OTLP/gRPC trace receiver (PyPI
`opentelemetry-proto` + grpcio) on 127.0.0.1 of whatever network namespace it is started in.
Prints its port, then appends each span it receives to SPANS_FILE as a JSON line: trace, span and
parent ids (hex), name, kind, the exporting service's `service.name`, and string attributes.
Usage: otlp_receiver.py SPANS_FILE"""
import json
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def strings(attributes):
    return {a.key: a.value.string_value for a in attributes if a.value.WhichOneof("value") == "string_value"}


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def Export(self, request, context):
        lines = []
        for resource_spans in request.resource_spans:
            service = strings(resource_spans.resource.attributes).get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "trace": span.trace_id.hex(), "span": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                        "name": span.name, "kind": span.kind, "service": service, "attributes": strings(span.attributes),
                        "error": span.status.code == 2,
                    }))
        with self.lock, open(self.path, "a") as spans:
            spans.write("".join(line + "\n" for line in lines))
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(sys.argv[1]), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()

"""Thin API views of the cluster's nodes (``pier nodes``)."""

from rest_framework.response import Response
from rest_framework.views import APIView

from api.services import nodes


class NodeListView(APIView):
    def get(self, request):
        return Response(nodes.nodes_list(user=request.user))


class NodeJoinCommandView(APIView):
    def get(self, request):
        return Response({"command": nodes.nodes_join_command(user=request.user)})


class NodeDrainView(APIView):
    def post(self, request, name):
        return Response(nodes.node_drain(user=request.user, name=name))


class NodeActivateView(APIView):
    def post(self, request, name):
        return Response(nodes.node_activate(user=request.user, name=name))

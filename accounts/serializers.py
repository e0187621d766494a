from rest_framework import serializers

from .models import Role


class SignInSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class SignedInAgencySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    short_name = serializers.CharField()


class SignedInUserSerializer(serializers.Serializer):
    """Who is signed in: the account, its role and the agency it acts for (null for none)."""

    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    agency = SignedInAgencySerializer(allow_null=True)

def test_projects_list_needs_auth(anonymous_client, db):
    assert anonymous_client.get("/api/v1/projects/").status_code == 401

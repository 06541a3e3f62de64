"""The hot paths (gis_service/api/hot_paths.py) answer exactly what pygeoapi answers:
each request goes to an application with the fast path and to one without, and the documents
must be equal but for the time stamp; requests the fast path does not take (HTML, CQL2, crs, bad
values, missing features) reach pygeoapi, which says ``x-powered-by: pygeoapi``."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gis_service.api.app import create_app
from gis_service.db.users import add_user

TAKEN = [
    "/ogc/collections/facilities/items",
    "/ogc/collections/facilities/items?f=json&limit=1",
    "/ogc/collections/facilities/items?limit=1&offset=1",
    "/ogc/collections/facilities/items?limit=1&offset=5",
    "/ogc/collections/facilities/items?type=depot&limit=5",
    "/ogc/collections/facilities/items?status=pilot&capacity=2",
    "/ogc/collections/villages/items?bbox=112.0,-3.0,112.15,-2.8&sortby=-name",
    "/ogc/collections/villages/items?properties=name,urban_rural&skipGeometry=true&lang=en",
    "/ogc/collections/villages/items?sortby=%2Barea_km2,-code&limit=100000",
    "/ogc/collections/coverage_villages/items?limit=3",
    "/ogc/collections/households_by_village/items",
    "/ogc/collections/facilities/items/1",
    "/ogc/collections/facilities/items/1?f=json&lang=en",
    "/ogc/collections/villages/items/62.07.01.2001",
]
TILES = ["/ogc/collections/villages/tiles/WebMercatorQuad/10/520/831?f=mvt",
         "/ogc/collections/facilities/tiles/WebMercatorQuad/12/2081/3326?f=mvt",
         "/ogc/collections/facilities/tiles/WebMercatorQuad/12/0/0?f=mvt"]  # empty
PASSED_ON = [
    ("/ogc/collections/facilities/items?f=html", 200),
    ("/ogc/collections/facilities/items?filter=type%3D%27depot%27", 200),
    ("/ogc/collections/facilities/items?crs=http://www.opengis.net/def/crs/EPSG/0/32749", 200),
    ("/ogc/collections/facilities/items?limit=0", 400),
    ("/ogc/collections/facilities/items?limit=abc", 400),
    ("/ogc/collections/facilities/items?bbox=1,2,3", 400),
    ("/ogc/collections/facilities/items?nosuch=1", 200),  # pygeoapi ignores unknown parameters
    ("/ogc/collections/facilities/items?sortby=+name", 400),  # "+" in a URL is a space
    ("/ogc/collections/facilities/items?capacity=abc", 400),
    ("/ogc/collections/facilities/items/999999", 404),
    ("/ogc/collections/facilities/items/abc", 404),
    ("/ogc/collections/villages/tiles/WebMercatorQuad/3/3/6?f=mvt", 404),  # below the zoom range
    ("/ogc/collections/villages/tiles/WebMercatorQuad/10/520/831", 400),  # no format
    ("/ogc/collections/nosuch/items?after=1", 404),  # an unknown collection, keyset or not
]


@pytest.fixture
def both(published_region, monkeypatch):
    with published_region.begin() as conn:  # starting a process needs an editor's key
        editor = {"Authorization": f"Bearer {add_user(conn, 'editor', 'editor')}"}
    with TestClient(create_app(base_url="http://testserver"), headers=editor) as fast:
        monkeypatch.setenv("GIS_SERVICE_API_HOT_PATHS", "false")
        with TestClient(create_app(base_url="http://testserver"), headers=editor) as plain:
            yield fast, plain


def _document(response) -> dict:
    document = response.json()
    document.pop("timeStamp", None)
    return document


def _next(document: dict) -> str | None:
    return next((link["href"] for link in document.get("links", []) if link["rel"] == "next"), None)


def _without_next(document: dict) -> dict:
    return {**document, "links": [link for link in document.get("links", []) if link["rel"] != "next"]}


def test_the_fast_path_answers_what_pygeoapi_answers(both):
    """Equal documents, but for the next link: in id order ours asks for the page after the last
    id (keyset), pygeoapi's for an offset; both next pages hold the same features."""
    fast, plain = both
    for url in TAKEN:
        ours, theirs = fast.get(url), plain.get(url)
        assert ours.status_code == theirs.status_code == 200, url
        assert "x-powered-by" not in ours.headers, f"the fast path did not take {url}"
        ours_doc, theirs_doc = _document(ours), _document(theirs)
        if ours_doc["type"] != "FeatureCollection":  # a feature's next link is the next feature
            assert ours_doc == theirs_doc, url
            continue
        assert _without_next(ours_doc) == _without_next(theirs_doc), url
        assert (_next(ours_doc) is None) == (_next(theirs_doc) is None), url
        if _next(ours_doc) is not None:
            assert ("after=" in _next(ours_doc)) == ("sortby" not in url), url
            ours_next, theirs_next = fast.get(_next(ours_doc)), plain.get(_next(theirs_doc))
            assert ours_next.json()["features"] == theirs_next.json()["features"], url
        for header in ("content-type", "content-language", "content-crs"):
            assert ours.headers.get(header) == theirs.headers.get(header), (url, header)
    for url in TILES:
        ours, theirs = fast.get(url), plain.get(url)
        assert ours.status_code == theirs.status_code == 200, url
        assert "x-powered-by" not in ours.headers and ours.content == theirs.content, url
        assert ours.headers["content-type"] == theirs.headers["content-type"], url
    assert fast.get(TILES[0]).content, "the test tile holds features"


def test_everything_else_reaches_pygeoapi(both):
    fast, plain = both
    for url, status in PASSED_ON:
        ours, theirs = fast.get(url), plain.get(url)
        assert ours.status_code == theirs.status_code == status, url
        assert ours.headers.get("x-powered-by", "").startswith("pygeoapi"), url
    page = fast.get("/ogc/collections/facilities/items", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_malformed_posts_are_400_not_pygeoapis_500(both):
    fast, _ = both
    for body in (b"[null, null]", b'{"inputs": "\xff"}', b"not json"):
        answer = fast.post("/ogc/processes/coverage/execution", content=body,
                           headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and "JSON object" in answer.json()["description"], body
    assert fast.post("/ogc/collections/villages/items").status_code == 400
    job = fast.post("/ogc/processes/coverage/execution",
                    json={"inputs": {"method": "buffer", "distance_m": 2000}})
    assert job.status_code == 200, job.text  # a good body still reaches pygeoapi whole


def test_keyset_pages_walk_the_whole_collection_in_id_order(both):
    fast, plain = both
    everything = plain.get("/ogc/collections/villages/items?limit=100000").json()["features"]
    seen, url, pages = [], "/ogc/collections/villages/items?limit=1&lang=en", 0
    while url is not None and pages <= len(everything) + 1:  # bounded, should paging repeat
        page = fast.get(url)
        assert page.status_code == 200 and "x-powered-by" not in page.headers, url
        document = page.json()
        seen += document["features"]
        assert document["numberMatched"] == len(everything)  # the whole selection, not what is left
        if pages:
            assert not any(link["rel"] == "prev" for link in document["links"])
            assert "after=" in next(link["href"] for link in document["links"] if link["rel"] == "self")
        url, pages = _next(document), pages + 1
    assert [f["id"] for f in seen] == [f["id"] for f in everything] and len(everything) >= 2
    assert pages == len(everything) + 1  # the last full page cannot know it is the last: one empty page
    assert seen == everything
    first = fast.get("/ogc/collections/villages/items?limit=1&skipGeometry=true&properties=name").json()
    following = fast.get(_next(first)).json()  # the next link keeps the page's other parameters
    assert "skipGeometry=true" in _next(first) and "properties=name" in _next(first)
    assert following["features"][0]["geometry"] is None
    assert set(following["features"][0]["properties"]) == {"name"}
    assert following["features"][0]["id"] == everything[1]["id"]


@pytest.mark.parametrize("url", [
    "/ogc/collections/villages/items?after=62.07.01.2001&sortby=name",
    "/ogc/collections/villages/items?after=62.07.01.2001&offset=5",
    "/ogc/collections/villages/items?after=62.07.01.2001&f=html",
    "/ogc/collections/facilities/items?after=abc",
])
def test_after_is_refused_where_it_cannot_be_honoured(both, url):
    fast, _ = both
    response = fast.get(url)
    assert response.status_code == 400, url
    assert "after" in response.json()["description"]

"""The demo facilities: the pilot's IPLT, depots and landings, IPAL komunal, MCK, and their service areas."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_service.demo.facts import DISTRICTS, METRIC_CRS, OPERATOR, OUTPUT_CRS, YEAR
from gis_service.demo.frames import to_output
from gis_service.demo.geometry import as_multipolygon, transformer
from gis_service.demo.households import village_of
from gis_service.demo.network import Network


def make_facilities(villages: pd.DataFrame, settlements: pd.DataFrame, network: Network,
                rng: np.random.Generator) -> gpd.GeoDataFrame:
    """The pilot IPLT and depot, a few existing MCK, one IPAL komunal and the candidate sites.
    All illustrative; no costs (docs/domain.md §5: unit costs are user-entered)."""
    first = settlements.groupby("village").head(1).set_index("village")
    road_village = np.zeros(len(villages), dtype=bool)
    road_village[settlements.village[network.on_road]] = True
    size = villages.weight.to_numpy()

    def at_village(v: int, dx: float = 60.0, dy: float = 40.0) -> np.ndarray:
        return first.loc[v, ["x", "y"]].to_numpy(float) + [dx, dy]

    def row(name: str, kind: str, status: str, xy: np.ndarray, capacity: float | None = None,
            unit: str | None = None, operator: str | None = OPERATOR, institution: str = "uptd",
            year: int | None = None, modes: tuple[str, ...] = ("road",)) -> dict:
        return {"name": name, "type": kind, "status": status, "capacity": capacity,
                "capacity_unit": unit, "operator": operator, "institution_type": institution,
                "year": year, "capex_idr": None, "opex_idr_per_year": None,
                "service_modes": list(modes), "x": xy[0], "y": xy[1]}

    kelurahan = villages.index[villages.kelurahan]
    river_only = villages.index[(villages.river_idx >= 0) & ~road_village & (villages.band <= 3)]
    mck = river_only[np.argsort(-size[river_only], kind="stable")[:3]]
    upstream = villages.index[(villages.river_idx >= 0) & ~road_village & (villages.band == 3)]
    landing_village = upstream[np.argmax(size[upstream])]
    desa_on_road = villages.index[road_village & ~villages.kelurahan]
    band1 = desa_on_road[(villages.band[desa_on_road] == 1).to_numpy()]
    seat_east = villages.index[villages.seat & (villages.code.str.startswith("62.07.06."))][0]
    end_village = int(settlements.village[network.road_end])
    biggest = desa_on_road[np.argmax(size[desa_on_road])]
    landing = network.landing[landing_village]
    to_bank = first.loc[landing_village, ["x", "y"]].to_numpy(float) - landing
    rows = [
        row("IPLT Kuala Pembuang (ilustrasi)", "iplt", "pilot", network.iplt, 20.0, "m3_per_day",
            year=YEAR),
        row("Depot LLTT Kuala Pembuang (ilustrasi)", "desludging_depot", "pilot",
            at_village(kelurahan[0], 250.0, 150.0), 2.0, "trucks", year=YEAR),
        *(row(f"MCK {villages.name[v]} (ilustrasi)", "mck", "existing", at_village(v),
              float(rng.integers(20, 41)), "households", f"KPP {villages.name[v]} (ilustrasi)",
              "kpp", int(rng.integers(2018, 2023)), ("river", "path")) for v in mck),
        row(f"IPAL komunal {villages.name[kelurahan[1]]} (ilustrasi)", "ipal_komunal", "existing",
            at_village(kelurahan[1], 150.0, -100.0), 70.0, "households",
            f"KPP {villages.name[kelurahan[1]]} (ilustrasi)", "kpp", 2021),
        row(f"Calon IPLT {DISTRICTS[villages.district[end_village]].name} (ilustrasi)", "iplt",
            "candidate", network.iplt_upstream, 10.0, "m3_per_day", modes=("road", "river")),
        *(row(f"Calon depot sedot tinja {villages.name[v]} (ilustrasi)", "desludging_depot",
              "candidate", at_village(v, -80.0, 60.0), 1.0, "trucks")
          for v in (end_village, seat_east, band1[np.argmax(size[band1])])),
        row(f"Calon IPAL komunal {villages.name[biggest]} (ilustrasi)", "ipal_komunal",
            "candidate", at_village(biggest, 120.0, 90.0), 80.0, "households", None, "kpp"),
        row(f"Calon dermaga transfer lumpur {villages.name[landing_village]} (ilustrasi)",
            "transfer_station", "candidate", landing + 40.0 * to_bank / np.hypot(*to_bank),
            modes=("river",)),
    ]
    frame = pd.DataFrame(rows)
    frame.insert(0, "source_id", [f"F{i + 1:03d}" for i in range(len(frame))])
    frame["year"] = frame["year"].astype("Int64")
    # depots deliver to the pilot IPLT, the river transfer station to the candidate upstream IPLT
    plant = frame.loc[frame.status.eq("pilot") & frame.type.eq("iplt"), "source_id"].iat[0]
    upstream = frame.loc[frame.status.eq("candidate") & frame.type.eq("iplt"), "source_id"].iat[0]
    feeds = {"desludging_depot": plant, "transfer_station": upstream}
    frame["feeds"] = np.array([feeds.get(t) for t in frame.type], dtype=object)
    points = shapely.points(frame[["x", "y"]].to_numpy())
    frame["village_code"] = village_of(points, villages)
    return to_output(frame.drop(columns=["x", "y"]), points)


def service_area_frame(facilities: gpd.GeoDataFrame, settlements: pd.DataFrame) -> gpd.GeoDataFrame:
    """The piped area of the existing IPAL komunal as a planner would draw it: the part of the
    nearest settlement within 400 m of the plant (for ``coverage run --method polygon``)."""
    plant = facilities[facilities["type"].eq("ipal_komunal") & facilities["status"].eq("existing")]
    xy = np.column_stack(transformer(OUTPUT_CRS, METRIC_CRS).transform(
        plant.geometry.x.to_numpy(), plant.geometry.y.to_numpy()))
    outlines = settlements.geometry.to_numpy()
    areas = []
    for p in xy:
        near = outlines[np.argmin(shapely.distance(outlines, shapely.Point(p)))]
        areas.append(as_multipolygon(shapely.intersection(near, shapely.Point(p).buffer(400.0)).union(
            shapely.Point(p).buffer(60.0))))
    return to_output(pd.DataFrame({"source_id": [f"A{i + 1:03d}" for i in range(len(plant))],
                                    "facility": plant["source_id"].to_numpy(),
                                    "name": [f"Wilayah perpipaan {n}" for n in plant["name"]]}), areas)

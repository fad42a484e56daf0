// The world map: projection, the SVG base layer (sphere, graticule, countries) and the
// two canvases stacked on it (markers, then arcs). Redraws everything on resize.

import { geoGraticule10, geoNaturalEarth1, geoPath, type GeoProjection } from "d3-geo";
import { feature, mesh } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import type { Feature, FeatureCollection, Geometry } from "geojson";
import world from "world-atlas/countries-110m.json";

const SVG_NS = "http://www.w3.org/2000/svg";

export interface Layer {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
}

type CountryProps = { name: string };

export class WorldMap {
  readonly projection: GeoProjection = geoNaturalEarth1();
  readonly markers: Layer;
  readonly arcs: Layer;
  width = 0;
  height = 0;
  dpr = 1;

  private readonly svg: SVGSVGElement;
  private readonly countries: Feature<Geometry, CountryProps>[];
  private readonly borders: ReturnType<typeof mesh>;
  private readonly resizeListeners: (() => void)[] = [];

  constructor(private readonly container: HTMLElement) {
    const topo = world as unknown as Topology<{ countries: GeometryCollection<CountryProps> }>;
    const fc = feature(topo, topo.objects.countries) as FeatureCollection<Geometry, CountryProps>;
    this.countries = fc.features;
    this.borders = mesh(topo, topo.objects.countries, (a, b) => a !== b);

    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "basemap");
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("aria-label", "World map");
    this.markers = this.makeLayer("markers");
    this.arcs = this.makeLayer("arcs");
    container.append(this.svg, this.markers.canvas, this.arcs.canvas);

    let pending = 0;
    const onResize = () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => this.resize());
    };
    window.addEventListener("resize", onResize);
    new ResizeObserver(onResize).observe(container);
    this.resize();
  }

  /** Called after every resize, once the projection fits the new size. */
  onResize(fn: () => void): void {
    this.resizeListeners.push(fn);
  }

  /** Screen position (CSS px, relative to the map container) of a lon/lat, or null. */
  project(lon: number, lat: number): [number, number] | null {
    const p = this.projection([lon, lat]);
    return p && Number.isFinite(p[0]) && Number.isFinite(p[1]) ? [p[0], p[1]] : null;
  }

  /** The map container's position in client coordinates. */
  origin(): DOMRect {
    return this.container.getBoundingClientRect();
  }

  private makeLayer(name: string): Layer {
    const canvas = document.createElement("canvas");
    canvas.className = `layer layer-${name}`;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("canvas 2D context unavailable");
    return { canvas, ctx };
  }

  private resize(): void {
    const rect = this.container.getBoundingClientRect();
    const width = Math.max(1, Math.round(rect.width));
    const height = Math.max(1, Math.round(rect.height));
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    this.width = width;
    this.height = height;
    this.dpr = dpr;

    const pad = Math.max(8, Math.min(width, height) * 0.02);
    this.projection.fitExtent(
      [
        [pad, pad],
        [width - pad, height - pad],
      ],
      { type: "Sphere" },
    );

    for (const layer of [this.markers, this.arcs]) {
      layer.canvas.width = Math.round(width * dpr);
      layer.canvas.height = Math.round(height * dpr);
      layer.canvas.style.width = `${width}px`;
      layer.canvas.style.height = `${height}px`;
      layer.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.drawBase();
    for (const fn of this.resizeListeners) fn();
  }

  private drawBase(): void {
    const path = geoPath(this.projection);
    this.svg.setAttribute("viewBox", `0 0 ${this.width} ${this.height}`);
    this.svg.setAttribute("width", String(this.width));
    this.svg.setAttribute("height", String(this.height));
    this.svg.replaceChildren();

    const add = (cls: string, d: string | null, title?: string) => {
      if (!d) return;
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("class", cls);
      p.setAttribute("d", d);
      if (title) {
        const t = document.createElementNS(SVG_NS, "title");
        t.textContent = title;
        p.appendChild(t);
      }
      this.svg.appendChild(p);
    };

    add("sphere", path({ type: "Sphere" }));
    add("graticule", path(geoGraticule10()));
    const g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("class", "countries");
    this.svg.appendChild(g);
    for (const c of this.countries) {
      const d = path(c);
      if (!d) continue;
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("class", "country");
      p.setAttribute("d", d);
      g.appendChild(p);
    }
    add("borders", path(this.borders));
    add("sphere-outline", path({ type: "Sphere" }));
  }
}
